import { createHash } from 'node:crypto';
import { ErrorCode, KernelError } from '../errors/index.ts';
import { Wasm, type WasmModule } from './wasm-api.ts';

/** One wasm page: 64 KiB. */
export const WASM_PAGE = 65536;

/** What `extism:host/env` provides in @extism/extism 1.0.3: the only kernel imports allowed. */
export const EXTISM_ENV_IMPORTS: ReadonlySet<string> = new Set([
  'alloc', 'free', 'length', 'length_unsafe', 'load_u8', 'load_u64', 'store_u8', 'store_u64',
  'input_offset', 'input_length', 'input_load_u8', 'input_load_u64', 'output_set', 'error_set',
  'config_get', 'var_get', 'var_set', 'http_request', 'http_status_code',
  'log_info', 'log_warn', 'log_debug', 'log_error',
]);

/** The host functions a capsule may import from `extism:host/user`: the airlocks. */
export const AIRLOCK_NAMES: ReadonlySet<string> = new Set([
  'astrid_ipc_publish', 'astrid_ipc_subscribe', 'astrid_ipc_unsubscribe', 'astrid_ipc_poll',
  'astrid_kv_get', 'astrid_kv_get_into', 'astrid_kv_set', 'astrid_kv_delete', 'astrid_kv_list',
  'astrid_log', 'astrid_config_get', 'astrid_abort',
  'astrid_fs_open', 'astrid_fs_read', 'astrid_fs_write', 'astrid_fs_close', 'astrid_fs_stat',
  'astrid_fs_readdir', 'astrid_fs_mkdir', 'astrid_fs_remove', 'astrid_fs_rename',
]);

function readU32(b: Uint8Array, at: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  let o = at;
  for (;;) {
    const byte = b[o++];
    if (byte === undefined || shift > 28) throw new RangeError('truncated or overlong LEB128');
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result >>> 0, o];
    shift += 7;
  }
}

function u32(n: number): number[] {
  const out: number[] = [];
  let x = n >>> 0;
  do {
    let byte = x & 0x7f;
    x >>>= 7;
    if (x !== 0) byte |= 0x80;
    out.push(byte);
  } while (x !== 0);
  return out;
}

/**
 * Rewrites the module's own linear memory so that its maximum is at most `maxPages` (the
 * declared maximum if lower). Returns the new bytes and the effective maximum, or null
 * when the module defines no memory. Throws `WASM_INVALID` on malformed sections or
 * unsupported memories (shared, 64-bit, several) and `CAPSULE_MEMORY_EXCEEDED` when the
 * initial size is already above the cap.
 */
export function capLinearMemory(wasm: Uint8Array, maxPages: number): { bytes: Uint8Array; maxPages: number | null } {
  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  let effective: number | null = null;
  let o = 8;
  try {
    while (o < wasm.length) {
      const id = wasm[o] as number;
      const [size, start] = readU32(wasm, o + 1);
      const end = start + size;
      if (end > wasm.length) throw new RangeError('section runs past the end');
      if (id !== 5) {
        parts.push(wasm.subarray(o, end));
        o = end;
        continue;
      }
      let [count, q] = readU32(wasm, start);
      if (count !== 1) throw new KernelError(ErrorCode.WasmInvalid, `Cannot load a module with ${count} memories: exactly one is supported`);
      const flags = wasm[q++] as number;
      if ((flags & ~1) !== 0) throw new KernelError(ErrorCode.WasmInvalid, `Cannot load a module whose memory has flags ${flags}: shared and 64-bit memories are refused`);
      let initial: number;
      [initial, q] = readU32(wasm, q);
      let max = maxPages;
      if ((flags & 1) !== 0) {
        let declared: number;
        [declared, q] = readU32(wasm, q);
        max = Math.min(declared, maxPages);
      }
      if (initial > max) {
        throw new KernelError(ErrorCode.CapsuleMemoryExceeded, `Cannot load a module that needs ${initial} initial memory pages as the cap is ${max}`);
      }
      const body = [1, 1, ...u32(initial), ...u32(max)];
      parts.push(Uint8Array.from([5, ...u32(body.length), ...body]));
      effective = max;
      o = end;
    }
  } catch (error) {
    if (error instanceof KernelError) throw error;
    throw new KernelError(ErrorCode.WasmInvalid, 'Cannot read the module as its sections are malformed', { cause: error });
  }
  return { bytes: effective === null ? wasm : Buffer.concat(parts), maxPages: effective };
}

/**
 * Checks a compiled module's imports and exports. Only `extism:host/env` functions that the
 * pinned Extism provides and `extism:host/user` airlocks (`astrid_*`) may be imported;
 * anything else (WASI, `env.*`, memories, tables, globals) is `WASM_IMPORT_DENIED`. Each
 * name of `requiredExports` must be an exported function (`WASM_EXPORT_MISSING`).
 */
export function checkModuleInterface(module: WasmModule, requiredExports: readonly string[]): ReadonlySet<string> {
  for (const imp of Wasm.Module.imports(module)) {
    const name = `${imp.module}.${imp.name}`;
    const allowed =
      imp.kind === 'function' &&
      ((imp.module === 'extism:host/env' && EXTISM_ENV_IMPORTS.has(imp.name)) ||
        (imp.module === 'extism:host/user' && AIRLOCK_NAMES.has(imp.name)));
    if (!allowed) {
      throw new KernelError(ErrorCode.WasmImportDenied, `Cannot load a module importing ${imp.kind} "${name}" as only Extism kernel functions and astrid_* airlocks are provided`, {
        details: { import: name },
      });
    }
  }
  const functions = new Set(Wasm.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name));
  for (const name of requiredExports) {
    if (!functions.has(name)) {
      throw new KernelError(ErrorCode.WasmExportMissing, `Cannot load a module without the exported function "${name}"`, { details: { export: name } });
    }
  }
  return functions;
}

/** A checked, memory-capped, compiled module ready to be posted to a worker. */
export interface CompiledCapsule {
  /** sha256 of the original bytes, lowercase hex. */
  readonly digest: string;
  readonly module: WasmModule;
  readonly exports: ReadonlySet<string>;
  /** The effective linear memory maximum in pages, null when the module has no memory. */
  readonly maxPages: number | null;
}

/**
 * Compiles each module once per (digest, memory cap). Concurrent loads of the same bytes
 * share one compilation. Errors: `WASM_INVALID`, `WASM_IMPORT_DENIED`,
 * `WASM_EXPORT_MISSING`, `CAPSULE_MEMORY_EXCEEDED`.
 */
export class ModuleCache {
  readonly #entries = new Map<string, Promise<CompiledCapsule>>();

  /** How many distinct compiled modules are held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Returns the compiled module for these bytes under a cap of `maxPages`. */
  async get(wasm: Uint8Array, maxPages: number, requiredExports: readonly string[]): Promise<CompiledCapsule> {
    const digest = createHash('sha256').update(wasm).digest('hex');
    const key = `${digest}:${maxPages}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = compile(wasm, digest, maxPages);
      this.#entries.set(key, entry);
      entry.catch(() => this.#entries.delete(key));
    }
    const compiled = await entry;
    checkModuleInterface(compiled.module, requiredExports);
    return compiled;
  }

  /** Drops every cached module. */
  clear(): void {
    this.#entries.clear();
  }
}

async function compile(wasm: Uint8Array, digest: string, maxPages: number): Promise<CompiledCapsule> {
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) {
    throw new KernelError(ErrorCode.WasmInvalid, 'Cannot load the module as it does not start with the wasm magic number');
  }
  const capped = capLinearMemory(wasm, maxPages);
  let module: WasmModule;
  try {
    module = await Wasm.compile(capped.bytes);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new KernelError(ErrorCode.WasmInvalid, `Cannot compile the module: ${why}`, { cause: error });
  }
  const exports = checkModuleInterface(module, []);
  return { digest, module, exports, maxPages: capped.maxPages };
}
