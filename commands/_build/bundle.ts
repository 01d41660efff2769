/**
 * Bundles the `astrid` commands for a fast start. Each command becomes one file at the path
 * oclif's pattern strategy looks for (`dist/commands/kv/get.js`), holding its own code; code
 * shared by several commands, and every module loaded with `import()`, goes to chunks in
 * `dist/commands/_chunks/`, which oclif ignores. A command thus loads a handful of files
 * instead of the ~130 modules of a per-file compile, and nothing it would not load anyway.
 */
import { mkdir, readdir, realpath, rename, rm } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';
import { commonJsBuilds, externalPackages } from './bundle-plugins.ts';
import { WORKER_ENTRY, WORKER_FILE, WORKER_POOL, assertSelfLocatedReviewed, sourceInputs, workerOutputDirs } from './self-located.ts';

/** Where the bundled commands go, relative to the repository root (package.json `oclif.commands.target`). */
export const COMMANDS_OUT = join('dist', 'commands');

/**
 * Pure-JS packages inlined into the chunks instead of loaded from node_modules: valibot is
 * tree-shaken to what the kernel uses, and the CommonJS ones (ignore, semver) are then not
 * imported from ESM: on Node 20, importing `ignore` that way kept a command alive ~50 ms
 * longer at exit (measured), apparently waiting on background compilation started by the
 * lexer Node runs over a CommonJS module to find its named exports.
 */
export const BUNDLED_PACKAGES: readonly string[] = ['valibot', 'ignore', 'semver'];

/** Packages loaded through their single-file CommonJS build (see `commonJsBuilds`). */
export const CJS_BUILD_PACKAGES: readonly string[] = ['lmdb'];

/** What {@link bundleCommands} wrote. */
export interface BundleResult {
  /** Command ids, as oclif will find them (`kv get`, `daemon`). */
  readonly commands: readonly string[];
  /** Every file written, relative to the out dir. */
  readonly files: readonly string[];
}

/** The command sources under `<root>/commands`, as oclif's globs see their compiled files. */
export async function commandSources(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('_')) await walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
        found.push(path.split(sep).join('/'));
      }
    }
  };
  await walk('commands');
  return found.sort();
}

function commonOptions(root: string): BuildOptions {
  return {
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    metafile: true,
    logLevel: 'silent',
    plugins: [commonJsBuilds(CJS_BUILD_PACKAGES), externalPackages(BUNDLED_PACKAGES)],
  };
}

async function run(options: BuildOptions): Promise<Metafile> {
  try {
    const result = await build(options);
    if (result.metafile === undefined) throw new Error('esbuild returned no metafile');
    return result.metafile;
  } catch (cause) {
    const message = cause instanceof Error ? cause.message.split('\n').slice(0, 3).join(' ') : String(cause);
    throw new KernelError(ErrorCode.BuildFailed, `Cannot bundle the CLI: ${message}`, { cause });
  }
}

/**
 * Bundles every command of the checkout at `checkout` into `out` (which it empties first),
 * with the capsule worker entry beside the chunk that starts workers.
 * @throws KernelError BUILD_FAILED when esbuild fails, no output holds the worker pool, or a
 * bundled module locates files relative to itself without review (see self-located.ts).
 */
export async function bundleCommands(checkout: string, out: string): Promise<BundleResult> {
  // esbuild names inputs and outputs by their real paths, relative to the root.
  const root = await realpath(checkout);
  const sources = await commandSources(root);
  if (sources.length === 0) throw new KernelError(ErrorCode.BuildFailed, `Cannot bundle the CLI as "${join(root, 'commands')}" holds no command`);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const outDir = await realpath(out);
  const metafile = await run({
    ...commonOptions(root),
    entryPoints: sources.map((source) => ({ in: source, out: source.slice('commands/'.length, -'.ts'.length) })),
    outdir: outDir,
    splitting: true,
    chunkNames: '_chunks/[name]-[hash]',
  });
  const inputs = sourceInputs(metafile.inputs);
  const workerDirs = workerOutputDirs(metafile, root, outDir);
  if (workerDirs.length === 0) {
    throw new KernelError(ErrorCode.BuildFailed, `Cannot bundle the CLI as no output holds ${WORKER_POOL}: the capsule worker entry would be missing`);
  }
  const workerMetas = await Promise.all(
    workerDirs.map((dir) => run({ ...commonOptions(root), entryPoints: [WORKER_ENTRY], outfile: join(outDir, dir, WORKER_FILE) })),
  );
  await assertSelfLocatedReviewed(root, [...new Set([...inputs, ...workerMetas.flatMap((m) => sourceInputs(m.inputs))])]);
  const files = [metafile, ...workerMetas].flatMap((m) => Object.keys(m.outputs)).map((o) => relative(outDir, resolve(root, o)).split(sep).join('/'));
  const commands = sources.map((s) => s.slice('commands/'.length, -'.ts'.length).split('/').filter((part, i, all) => !(part === 'index' && i === all.length - 1)).join(' '));
  return { commands, files: files.sort() };
}

/**
 * `npm run build`'s bundling step: bundles into a fresh directory beside `dist/commands`, then
 * swaps it in with two renames, so a CLI started meanwhile never finds half a tree. Output of
 * an older per-file compile elsewhere under `dist/` is removed, as nothing loads it any more.
 */
export async function buildCommands(root: string): Promise<BundleResult> {
  const target = join(root, COMMANDS_OUT);
  const next = `${target}.next-${process.pid}`;
  const old = `${target}.old-${process.pid}`;
  const result = await bundleCommands(root, next).catch(async (error: unknown) => {
    await rm(next, { recursive: true, force: true });
    throw error;
  });
  await rename(target, old).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  });
  await rename(next, target);
  await rm(old, { recursive: true, force: true });
  const dist = join(root, 'dist');
  for (const entry of await readdir(dist)) {
    if (entry !== 'commands' && !entry.startsWith('commands.')) await rm(join(dist, entry), { recursive: true, force: true });
  }
  return result;
}

// `node --import tsx commands/_build/bundle.ts`: the repository root is two folders up.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const { commands, files } = await buildCommands(root);
  process.stdout.write(`Bundled ${commands.length} commands into ${COMMANDS_OUT} (${files.filter((f) => f.endsWith('.js')).length} files)\n`);
}
