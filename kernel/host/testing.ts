/**
 * Test support for the capsule host (not exported from `index.ts`): compiles the WAT
 * fixtures under `fixtures/wasm/` with the `wabt` package, once per process.
 */
import { readFile } from 'node:fs/promises';
import wabtInit from 'wabt';

const cache = new Map<string, Promise<Uint8Array>>();
let wabt: ReturnType<typeof wabtInit> | null = null;

/** The directory holding the committed WAT fixtures. */
export const WASM_FIXTURES = new URL('../../fixtures/wasm/', import.meta.url);

/** Compiles `fixtures/wasm/<name>.wat` to wasm bytes; throws on a syntax or validation error. */
export function watFixture(name: string): Promise<Uint8Array> {
  let bytes = cache.get(name);
  if (bytes === undefined) {
    bytes = (async () => {
      wabt ??= wabtInit();
      const api = await wabt;
      const source = await readFile(new URL(`${name}.wat`, WASM_FIXTURES), 'utf8');
      const module = api.parseWat(`${name}.wat`, source);
      try {
        module.validate();
        return module.toBinary({}).buffer;
      } finally {
        module.destroy();
      }
    })();
    cache.set(name, bytes);
  }
  return bytes;
}
