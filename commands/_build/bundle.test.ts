import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Metafile } from 'esbuild';
import { tempDir } from '../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../../kernel/errors/index.ts';
import { bundleCommands, commandSources } from './bundle.ts';
import { cjsBuildSource, packageOf } from './bundle-plugins.ts';
import { WORKER_FILE, WORKER_POOL, assertSelfLocatedReviewed, workerOutputDirs } from './self-located.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

test('bundleCommands() writes each command where oclif looks, and everything else under _chunks/', async () => {
  await using dir = await tempDir('astrid-bundle-');
  const out = join(dir.path, 'commands');

  const { commands, files } = await bundleCommands(repoRoot, out);

  const sources = await commandSources(repoRoot);
  assert.equal(commands.length, sources.length);
  assert.ok(commands.includes('kv get') && commands.includes('daemon'), `unexpected ids: ${commands.join(', ')}`);
  const js = files.filter((f) => f.endsWith('.js'));
  const entries = sources.map((s) => `${s.slice('commands/'.length, -'.ts'.length)}.js`);
  assert.deepEqual(js.filter((f) => !f.startsWith('_chunks/')).sort(), entries.sort());
  // The capsule worker sits beside the chunk that starts workers, which names it relative to itself.
  const starters: string[] = [];
  for (const file of js) if ((await readFile(join(out, file), 'utf8')).includes(`./capsule-worker.`)) starters.push(file);
  assert.ok(starters.length > 0, 'no chunk starts capsule workers');
  for (const file of starters) assert.ok(files.includes(join(file, '..', WORKER_FILE)), `${file} has no ${WORKER_FILE} beside it`);
});

test('bundleCommands() loads lmdb through its CommonJS build, never its ESM entry', async () => {
  await using dir = await tempDir('astrid-bundle-');
  const out = join(dir.path, 'commands');

  const { files } = await bundleCommands(repoRoot, out);

  const texts = await Promise.all(files.filter((f) => f.endsWith('.js')).map((f) => readFile(join(out, f), 'utf8')));
  assert.ok(texts.some((t) => t.includes('createRequire(import.meta.url)("lmdb")')));
  assert.ok(!texts.some((t) => /\bfrom\s*"lmdb"|import\("lmdb"\)/.test(t)));
});

test('cjsBuildSource() re-exports every named export of the package, and its default', () => {
  const source = cjsBuildSource('lmdb');

  assert.match(source, /^export const open = loaded\.open;$/m);
  assert.match(source, /^export default loaded\.default;$/m);
});

test('packageOf() names the package of a bare specifier', () => {
  assert.equal(packageOf('valibot'), 'valibot');
  assert.equal(packageOf('@oclif/core/flags'), '@oclif/core');
  assert.equal(packageOf('assemblyscript/asc'), 'assemblyscript');
});

test('assertSelfLocatedReviewed() fails with BUILD_FAILED on an unreviewed module using import.meta.url', async () => {
  await using dir = await tempDir('astrid-bundle-');
  await mkdir(join(dir.path, 'kernel'), { recursive: true });
  await writeFile(join(dir.path, 'kernel', 'plain.ts'), 'export const x = 1;\n');
  await writeFile(join(dir.path, 'kernel', 'asset.ts'), "export const data = new URL('./data.bin', import.meta.url);\n");

  await assertSelfLocatedReviewed(dir.path, ['kernel/plain.ts']);
  await assert.rejects(assertSelfLocatedReviewed(dir.path, ['kernel/plain.ts', 'kernel/asset.ts']), (error: unknown) => {
    return isKernelError(error, ErrorCode.BuildFailed) && error.message.includes('kernel/asset.ts');
  });
});

test('workerOutputDirs() fails with BUILD_FAILED when the worker pool lands where oclif finds commands', () => {
  const metafile = (output: string): Metafile => ({
    inputs: {},
    outputs: { [output]: { bytes: 1, inputs: { [WORKER_POOL]: { bytesInOutput: 1 } }, imports: [], exports: [] } },
  });

  assert.deepEqual(workerOutputDirs(metafile('out/_chunks/host-X.js'), '/repo', '/repo/out'), ['_chunks']);
  assert.throws(() => workerOutputDirs(metafile('out/capsule/call.js'), '/repo', '/repo/out'), (error: unknown) => isKernelError(error, ErrorCode.BuildFailed));
});
