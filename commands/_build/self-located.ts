import { readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Metafile } from 'esbuild';
import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';

/** Code that finds files or modules relative to its own location. */
const SELF_LOCATING = /\bimport\.meta\.(url|dirname|filename|resolve)\b|\b__dirname\b|\b__filename\b|\bnew\s+Worker\s*\(/;

/**
 * The modules that locate something relative to themselves, and why each still works once
 * bundled into `dist/commands/_chunks/`. A bundled module missing from this list fails the
 * build: review it, then add it here (or keep it out of the commands' import graph).
 */
export const SELF_LOCATED: Readonly<Record<string, string>> = {
  // `new URL('./capsule-worker.js', import.meta.url)`: the build writes the worker entry, bundled
  // on its own, next to every output that holds this module (see `workerOutputDirs`).
  'kernel/host/worker-pool.ts': 'worker entry emitted beside it',
  // Resolves tsx only for a `.ts` worker module (running from sources); bundled, every worker
  // module is `.js` and started as it is.
  'kernel/concurrency/worker-entry.ts': 'tsx resolved only for sources',
  // Walks up from itself to the checkout holding capsules/sdk, and resolves json-as from there:
  // both work from any depth inside the checkout.
  'capsules/tools/build.ts': 'walks up to the checkout',
};

/** The module whose output directory must also hold the capsule worker entry. */
export const WORKER_POOL = 'kernel/host/worker-pool.ts';
/** The capsule worker thread's entry, loaded by path at run time. */
export const WORKER_ENTRY = 'kernel/host/capsule-worker.ts';
/** The file name `WORKER_POOL` loads, relative to its own output. */
export const WORKER_FILE = 'capsule-worker.js';

/**
 * The repository's own sources among the inputs of a build run with `absWorkingDir` at the
 * root (whose input paths are relative to it): packages and virtual modules are left out.
 */
export function sourceInputs(inputs: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(inputs).filter((input) => !input.includes(':') && !input.startsWith('node_modules/') && !input.startsWith('../'));
}

/**
 * Fails unless every bundled source that locates files relative to itself is reviewed in
 * {@link SELF_LOCATED}.
 * @throws KernelError BUILD_FAILED naming the unreviewed modules.
 */
export async function assertSelfLocatedReviewed(root: string, inputs: readonly string[]): Promise<void> {
  const unreviewed: string[] = [];
  for (const input of inputs) {
    if (input in SELF_LOCATED) continue;
    if (SELF_LOCATING.test(await readFile(join(root, input), 'utf8'))) unreviewed.push(input);
  }
  if (unreviewed.length > 0) {
    throw new KernelError(
      ErrorCode.BuildFailed,
      `Cannot bundle the CLI as ${unreviewed.join(', ')} locate(s) files relative to their own module: review them in commands/_build/self-located.ts`,
      { details: { modules: unreviewed.join(', ') } },
    );
  }
}

/**
 * The output directories (relative to the build's out dir) holding the worker pool, which
 * must each get the worker entry. They must be hidden from oclif (a folder starting with `_`).
 * @throws KernelError BUILD_FAILED when the pool landed where oclif would take the worker for a command.
 */
export function workerOutputDirs(metafile: Metafile, root: string, outDir: string): string[] {
  const dirs = new Set<string>();
  for (const [output, meta] of Object.entries(metafile.outputs)) {
    if (!output.endsWith('.js') || !(WORKER_POOL in meta.inputs)) continue;
    const dir = relative(outDir, resolve(root, output, '..')).split(sep).join('/');
    if (!dir.split('/').some((part) => part.startsWith('_'))) {
      throw new KernelError(ErrorCode.BuildFailed, `Cannot bundle the CLI as the capsule worker pool landed in "${dir || '.'}", where oclif would load its worker as a command`);
    }
    dirs.add(dir);
  }
  return [...dirs];
}
