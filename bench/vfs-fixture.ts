// The project tree the VFS and ignore benches run over: a small TypeScript repository with a
// root `.astridignore`, two nested ones, ignored build output and a few secrets.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The `.astridignore` files of the fixture, keyed by the directory holding each (`''` for the root). */
export const IGNORE_FILES: Readonly<Record<string, string>> = Object.freeze({
  '': ['# build output and tooling', 'node_modules/', 'dist/', 'coverage/', '*.log', '!keep.log', '.cache/', '*.tmp', '/tmp/', 'docs/**/*.draft.md', ''].join('\n'),
  src: ['*.snap', '__fixtures__/', '!important.snap', 'generated/*.js', ''].join('\n'),
  'src/pkg': ['/scratch/', '*.bak', '*.orig', ''].join('\n'),
});

const PACKAGES = ['core', 'net', 'fs', 'cli', 'util', 'vfs'];
const KINDS = ['index.ts', 'types.ts', 'parse.ts', 'render.ts', 'store.ts', 'errors.ts', 'index.test.ts', 'parse.test.ts', 'output.snap', 'notes.bak'];
const OTHER = [
  'package.json', 'README.md', 'tsconfig.json', '.env', '.env.local', 'keep.log', 'debug.log', 'server.key', 'certs/dev.pem',
  'docs/guide/intro.md', 'docs/guide/next.draft.md', 'docs/api/index.md', 'scripts/build.ts', 'scripts/release.ts',
  '.github/workflows/ci.yml', 'tmp/a.txt', 'credentials.json', 'config/.npmrc', '.ssh/id_ed25519', 'src/generated/schema.js',
  'src/generated/schema.ts', 'src/__fixtures__/big.json', 'src/pkg/scratch/try.ts', 'src/important.snap',
];

/**
 * Every file path of the fixture (relative, POSIX), with a few paths inside ignored
 * directories (`node_modules`, `dist`), as a listing of a real repository would meet them.
 */
export function fixturePaths(): string[] {
  const paths = [...OTHER];
  for (const pkg of PACKAGES) {
    for (const kind of KINDS) paths.push(`src/pkg/${pkg}/${kind}`);
    for (const kind of KINDS.slice(0, 4)) paths.push(`src/pkg/${pkg}/internal/${kind}`);
    paths.push(`dist/pkg/${pkg}/index.js`, `dist/pkg/${pkg}/index.d.ts`, `coverage/${pkg}.html`);
    for (const dep of ['lodash', 'tslib', '@types/node']) paths.push(`node_modules/${dep}/${pkg}.js`);
  }
  return paths;
}

/**
 * A larger listing for ignore decisions: about 4,000 distinct file paths up to 6 levels deep
 * (sources, tests, snapshots, build output, dependencies, docs and a few secrets).
 */
export function manyPaths(): string[] {
  const paths: string[] = [];
  const files = ['index.ts', 'types.ts', 'parse.ts', 'render.ts', 'index.test.ts', 'view.snap', 'old.bak', 'run.log', 'cache.tmp', '.env', 'tls.pem'];
  for (const pkg of PACKAGES) {
    for (let m = 0; m < 12; m += 1) {
      for (const f of files) paths.push(`src/pkg/${pkg}/mod${m}/${f}`);
      for (const f of files.slice(0, 4)) paths.push(`src/pkg/${pkg}/mod${m}/deep/er/${f}`, `src/generated/${pkg}/m${m}.js`, `src/__fixtures__/${pkg}/m${m}/${f}`);
      paths.push(`dist/pkg/${pkg}/mod${m}/index.js`, `docs/${pkg}/m${m}.md`, `docs/${pkg}/m${m}.draft.md`, `src/pkg/scratch/${pkg}${m}.ts`);
    }
    for (let d = 0; d < 40; d += 1) paths.push(`node_modules/dep${d}/lib/${pkg}.js`, `node_modules/@scope/dep${d}/dist/${pkg}/index.d.ts`);
  }
  return paths;
}

/** The directories holding the given files, each once, parents before children. */
export function directoriesOf(paths: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i += 1) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort();
}

/** `size` bytes of source-like text (printable ASCII lines), deterministic per `seed`. */
export function sourceText(size: number, seed: number): Buffer {
  const line = `export const value${seed} = ${JSON.stringify('x'.repeat(40))}; // line\n`;
  return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size));
}

/** Writes the fixture under `root`: every file of {@link fixturePaths} (1 KiB each) and the ignore files. */
export async function writeFixture(root: string): Promise<void> {
  const paths = fixturePaths();
  for (const dir of directoriesOf(paths)) await mkdir(join(root, dir), { recursive: true });
  let seed = 0;
  for (const p of paths) await writeFile(join(root, p), sourceText(1024, seed++));
  for (const [dir, text] of Object.entries(IGNORE_FILES)) {
    const file = join(root, dir, '.astridignore');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
  }
}
