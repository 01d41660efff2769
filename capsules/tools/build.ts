/**
 * Builds AssemblyScript capsules with the asc API, in process and offline. The SDK is
 * importable as "astrid-sdk" from any capsule: the compiler's file reader maps that package
 * name to `capsules/sdk/assembly/`. Outputs are cached by a hash of every source, the
 * preset, the compiler and library versions and the optimisation flag.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v from 'valibot';
import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';
import { checkModuleInterface } from '../../kernel/host/wasm-module.ts';
import { Wasm } from '../../kernel/host/wasm-api.ts';

/** The Astrid checkout: the nearest folder above this file holding the SDK (works from dist/ too). */
function findRepo(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'capsules', 'sdk', 'preset.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new KernelError(ErrorCode.NotFound, 'Cannot find the Astrid capsule SDK above the build tool');
    dir = up;
  }
  return dir;
}
const REPO = findRepo();
const CAPSULES = join(REPO, 'capsules');
const SDK = join(CAPSULES, 'sdk', 'assembly');
const PRESET = join(CAPSULES, 'sdk', 'preset.json');
/** A directory that does not exist: asc looks packages up in it, our reader maps them. */
const VIRTUAL_LIB = resolve(REPO, '.astrid-virtual-lib');
const SDK_PACKAGE = 'astrid-sdk';

const PresetSchema = v.object({
  description: v.optional(v.string()),
  common: v.array(v.string()),
  release: v.array(v.string()),
  debug: v.array(v.string()),
});

/** Options of {@link buildCapsuleWasm}. */
export interface BuildOptions {
  /** -O3 when true (default), -O0 with debug info when false. */
  readonly optimize?: boolean;
  /** Where built modules are cached (default `<repo>/.cache/capsules`). */
  readonly cacheDir?: string;
}

/** A built capsule module. */
export interface BuildResult {
  readonly wasm: Uint8Array;
  /** The cached file holding `wasm`. */
  readonly path: string;
  /** Hash of everything the build depends on; the cache key. */
  readonly hash: string;
  /** Whether the module came from the cache. */
  readonly cached: boolean;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile() && entry.name.endsWith('.ts')) out.push(path);
  }
  return out.sort();
}

async function packageVersion(name: string): Promise<string> {
  const json: unknown = JSON.parse(await readFile(join(REPO, 'node_modules', name, 'package.json'), 'utf8'));
  return typeof json === 'object' && json !== null && 'version' in json ? String(json.version) : 'unknown';
}

async function buildHash(sources: readonly string[], optimize: boolean): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`optimize=${optimize}\n`);
  for (const name of ['assemblyscript', 'json-as', '@extism/as-pdk']) hash.update(`${name}@${await packageVersion(name)}\n`);
  for (const file of [PRESET, ...sources]) {
    hash.update(`${relative(REPO, file)}\n`);
    hash.update(await readFile(file));
  }
  return hash.digest('hex');
}

/** Maps a path asc asks for to a real file: the SDK package lives outside node_modules. */
function realPath(path: string): string {
  const prefix = `${VIRTUAL_LIB}${sep}${SDK_PACKAGE}${sep}`;
  return path.startsWith(prefix) ? join(SDK, path.slice(prefix.length)) : path;
}

let queue: Promise<unknown> = Promise.resolve();

async function compile(dir: string, optimize: boolean): Promise<Uint8Array> {
  const { default: asc } = await import('assemblyscript/asc');
  const preset = v.parse(PresetSchema, JSON.parse(await readFile(PRESET, 'utf8')));
  const transform = fileURLToPath(import.meta.resolve('json-as'));
  const outputs = new Map<string, Uint8Array>();
  // json-as joins process.cwd() with --baseDir, and treats a source whose internal path is
  // exactly "assembly/index" as its own: compile from the parent folder, relative to cwd.
  const baseDir = relative(process.cwd(), dirname(dir)) || '.';
  const argv = [
    join(basename(dir), 'assembly', 'index.ts'),
    '--outFile', 'capsule.wasm',
    '--baseDir', baseDir,
    '--path', VIRTUAL_LIB,
    '--path', join(REPO, 'node_modules'),
    '--transform', transform,
    ...preset.common,
    ...(optimize ? preset.release : preset.debug),
  ];
  const result = await asc.main(argv, {
    readFile: (file, base) => readFile(realPath(resolve(base, file)), 'utf8').catch(() => null),
    writeFile: (file, contents) => {
      outputs.set(basename(file), typeof contents === 'string' ? new TextEncoder().encode(contents) : contents);
    },
    listFiles: () => [],
  });
  const wasm = outputs.get('capsule.wasm');
  if (result.error !== null || wasm === undefined) {
    const diagnostics = result.stderr.toString().trim();
    throw new KernelError(ErrorCode.BuildFailed, `Cannot build capsule "${basename(dir)}": ${diagnostics || (result.error?.message ?? 'no output')}`, {
      cause: result.error ?? undefined,
    });
  }
  try {
    checkModuleInterface(await Wasm.compile(wasm), []);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new KernelError(ErrorCode.BuildFailed, `Cannot build capsule "${basename(dir)}" as its module would be refused: ${why}`, { cause: error });
  }
  return wasm;
}

/**
 * Compiles `<dir>/assembly/index.ts` with the SDK preset, or returns the cached module when
 * nothing it depends on changed. Builds run one at a time in this process. Errors:
 * `BUILD_FAILED` with the compiler's diagnostics (also when the module imports something
 * the host would refuse, such as `env.Date.now`), `NOT_FOUND` when there is no entry file.
 */
export async function buildCapsuleWasm(dir: string, options: BuildOptions = {}): Promise<BuildResult> {
  const root = resolve(dir);
  const optimize = options.optimize ?? true;
  const cacheDir = options.cacheDir ?? join(REPO, '.cache', 'capsules');
  const entry = join(root, 'assembly', 'index.ts');
  if (!(await stat(entry).catch(() => null))?.isFile()) {
    throw new KernelError(ErrorCode.NotFound, `Cannot build "${root}" as it has no assembly/index.ts`);
  }
  const sources = [...(await filesUnder(join(root, 'assembly'))), ...(await filesUnder(SDK))];
  const hash = await buildHash(sources, optimize);
  const path = join(cacheDir, `${basename(root)}-${hash.slice(0, 32)}.wasm`);
  const hit = await readFile(path).catch(() => null);
  if (hit !== null) return { wasm: new Uint8Array(hit), path, hash, cached: true };

  const run = queue.then(() => compile(root, optimize));
  queue = run.catch(() => undefined);
  const wasm = await run;
  await mkdir(cacheDir, { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, wasm);
  await rename(temp, path);
  return { wasm, path, hash, cached: false };
}

/**
 * Builds every first-party capsule: each folder under `capsules/` with an
 * `assembly/index.ts`, except the SDK itself (a library). Returns results by folder name,
 * in name order; stops at the first `BUILD_FAILED`.
 */
export async function buildAllFirstParty(options: BuildOptions = {}): Promise<Map<string, BuildResult>> {
  const results = new Map<string, BuildResult>();
  const entries = (await readdir(CAPSULES, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === 'sdk') continue;
    const dir = join(CAPSULES, entry.name);
    const source = await stat(join(dir, 'assembly', 'index.ts')).catch(() => null);
    if (source?.isFile() !== true) continue;
    results.set(entry.name, await buildCapsuleWasm(dir, options));
  }
  return results;
}
