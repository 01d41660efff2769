import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CapInspectResult } from '../../commands/cap/inspect.ts';
import type { CapMintResult } from '../../commands/cap/mint.ts';
import type { IgnoreCheckEntry } from '../../commands/ignore/check.ts';
import type { VfsCatResult } from '../../commands/vfs/cat.ts';
import type { VfsCommitResult } from '../../commands/vfs/commit.ts';
import type { VfsDiffResult } from '../../commands/vfs/diff.ts';
import type { VfsLsResult } from '../../commands/vfs/ls.ts';
import type { VfsSessionOpenResult } from '../../commands/vfs/session/open.ts';
import type { VfsWriteResult } from '../../commands/vfs/write.ts';
import { tempDir } from '../support/temp-dir.ts';
import { assertBuilt, astrid, astridDigest, failsWith, okJson, startDaemon } from './run-cli.ts';
import { git, gitRepo, logEvents, snapshot, writeTree } from './vfs-fixture.ts';

assertBuilt();

/** The lower: a small repository with ignored files on disk beside the committed ones. */
const LOWER_FILES = {
  'README.md': '# Demo\n',
  'a.txt': 'alpha\n',
  'src/index.ts': 'export const n = 1;\n',
  'src/lib/util.ts': 'export {};\n',
  '.astridignore': '*.log\nsecret/\n',
  '.gitignore': '*.log\nsecret/\n.env\n',
  '.env': 'API_KEY=do-not-leak\n',
  'debug.log': 'noise\n',
  'secret/key.txt': 'hunter2\n',
} as const;

const DRAFT = 'export const drafted = "é✓";'; // multibyte, no final newline: cat must not add one
const BINARY = Uint8Array.from({ length: 256 }, (_, i) => i);

test('the issue-4 tour: a VFS session over a git repository, from open to commit, with the lower untouched until then', async (t) => {
  await using dir = await tempDir('astrid-e2e-vfs-');
  const home = join(dir.path, 'home');
  const lower = await gitRepo(join(dir.path, 'repo'), LOWER_FILES);
  await writeTree(dir.path, { 'draft.ts': DRAFT, 'blob.bin': BINARY });
  const cli = (args: readonly string[], stdin?: string) => astrid(args, { home, ...(stdin === undefined ? {} : { stdin }) });
  okJson(await cli(['init']));
  const original = await snapshot(lower);
  let session = '';

  await t.test('`vfs session open` prints {id, lower, seq}', async () => {
    const opened = okJson<VfsSessionOpenResult>(await cli(['vfs', 'session', 'open', '--lower', lower]));

    assert.match(opened.id, /^[0-9a-f]{12}$/);
    assert.equal(opened.lower, await realpath(lower));
    assert.ok(opened.seq > 1);
    session = opened.id;
  });
  await t.test('write (from a file and from stdin), rm, mv and mkdir change only the session', async () => {
    const fromFile = okJson<VfsWriteResult>(await cli(['vfs', 'write', session, '/src/new.ts', '--from', join(dir.path, 'draft.ts')]));
    okJson(await cli(['vfs', 'write', session, '/blob.bin', '--from', join(dir.path, 'blob.bin')]));
    const fromStdin = okJson<VfsWriteResult>(await cli(['vfs', 'write', session, '/src/index.ts'], 'export const n = 2;\n'));
    okJson(await cli(['vfs', 'rm', session, '/README.md']));
    okJson(await cli(['vfs', 'mv', session, '/a.txt', '/b.txt']));
    okJson(await cli(['vfs', 'mkdir', session, '/dir']));

    assert.deepEqual([fromFile.path, fromFile.size], ['/src/new.ts', Buffer.byteLength(DRAFT)]);
    assert.equal(fromStdin.size, 20);
    assert.deepEqual(await snapshot(lower), original);
  });
  await t.test('`vfs ls` shows the merged view without deleted or hidden paths', async () => {
    const root = okJson<VfsLsResult>(await cli(['vfs', 'ls', session]));
    const src = okJson<VfsLsResult>(await cli(['vfs', 'ls', session, '/src']));
    const text = await astrid(['vfs', 'ls', session, '/src'], { home, json: false });

    assert.deepEqual(root.entries.map((e) => e.name).sort(), ['.astridignore', '.gitignore', 'b.txt', 'blob.bin', 'dir', 'src']);
    assert.deepEqual(src.entries.map((e) => [e.name, e.kind, e.size]), [['index.ts', 'file', 20], ['lib', 'dir', null], ['new.ts', 'file', Buffer.byteLength(DRAFT)]]);
    assert.equal(text.stdout, `index.ts\t20\nlib/\nnew.ts\t${Buffer.byteLength(DRAFT)}\n`);
  });
  await t.test('`vfs cat` writes the raw bytes; --json carries them in base64', async () => {
    const raw = await astrid(['vfs', 'cat', session, '/src/new.ts'], { home, json: false });
    const moved = await astrid(['vfs', 'cat', session, '/b.txt'], { home, json: false });
    const binary = okJson<VfsCatResult>(await cli(['vfs', 'cat', session, '/blob.bin']));

    assert.deepEqual([raw.code, raw.stdout], [0, DRAFT]);
    assert.equal(moved.stdout, LOWER_FILES['a.txt']);
    assert.deepEqual(Buffer.from(binary.base64, 'base64'), Buffer.from(BINARY));
    failsWith(await cli(['vfs', 'cat', session, '/a.txt']), 'PATH_NOT_FOUND', 4);
    failsWith(await cli(['vfs', 'cat', session, '/README.md']), 'PATH_NOT_FOUND', 4);
  });
  await t.test('ignored files and .env are not listed, readable or writable, and refusing them writes nothing', async () => {
    const before = await logEvents(home);
    for (const path of ['/.env', '/debug.log', '/secret/key.txt']) {
      failsWith(await cli(['vfs', 'cat', session, path]), 'PATH_IGNORED', 8);
      failsWith(await cli(['vfs', 'write', session, path], 'overwritten'), 'PATH_IGNORED', 8);
      failsWith(await cli(['vfs', 'rm', session, path]), 'PATH_IGNORED', 8);
    }
    failsWith(await cli(['vfs', 'write', session, '/new.log'], 'x'), 'PATH_IGNORED', 8);
    failsWith(await cli(['vfs', 'ls', session, '/secret']), 'PATH_IGNORED', 8);
    failsWith(await cli(['vfs', 'mv', session, '/b.txt', '/.env']), 'PATH_IGNORED', 8);

    assert.deepEqual(await logEvents(home), before);
  });
  await t.test('`vfs diff` lists added, modified, deleted and renamed paths', async () => {
    const diff = okJson<VfsDiffResult>(await cli(['vfs', 'diff', session]));
    const text = await astrid(['vfs', 'diff', session], { home, json: false });

    assert.deepEqual(diff.changes, [
      { change: 'deleted', path: '/README.md', kind: 'file' },
      { change: 'renamed', path: '/b.txt', from: '/a.txt', kind: 'file' },
      { change: 'added', path: '/blob.bin', kind: 'file' },
      { change: 'added', path: '/dir', kind: 'dir' },
      { change: 'modified', path: '/src/index.ts', kind: 'file' },
      { change: 'added', path: '/src/new.ts', kind: 'file' },
    ]);
    assert.equal(text.stdout, 'D /README.md\nR /a.txt -> /b.txt\nA /blob.bin\nA /dir/\nM /src/index.ts\nA /src/new.ts\n');
  });
  await t.test('`astrid replay` restores the materialised upper byte for byte after `rm -rf`', async () => {
    const upperDir = join(home, 'vfs', session);
    const materialised = await snapshot(upperDir);
    assert.equal(await readFile(join(upperDir, 'upper', 'src', 'new.ts'), 'utf8'), DRAFT);

    await rm(upperDir, { recursive: true, force: true });
    okJson(await cli(['replay']));

    assert.deepEqual(await snapshot(upperDir), materialised);
    assert.deepEqual(await snapshot(lower), original);
  });
  await t.test('`vfs commit` applies the upper onto the lower and closes the session', async () => {
    const merged = {
      'b.txt': (await cli(['vfs', 'cat', session, '/b.txt'])).stdout,
      'src/index.ts': (await cli(['vfs', 'cat', session, '/src/index.ts'])).stdout,
      'src/new.ts': (await cli(['vfs', 'cat', session, '/src/new.ts'])).stdout,
    };

    const committed = okJson<VfsCommitResult>(await cli(['vfs', 'commit', session]));

    assert.equal(committed.session, session);
    for (const [path, json] of Object.entries(merged)) {
      assert.equal((await readFile(join(lower, path))).toString('base64'), (JSON.parse(json) as VfsCatResult).base64, path);
    }
    assert.deepEqual(await readFile(join(lower, 'blob.bin')), Buffer.from(BINARY));
    assert.equal(existsSync(join(lower, 'README.md')) || existsSync(join(lower, 'a.txt')), false);
    assert.equal(await readFile(join(lower, '.env'), 'utf8'), LOWER_FILES['.env']);
    const status = git(lower, ['status', '--porcelain', '--untracked-files=all']).split('\n').filter((l) => l !== '').sort();
    assert.deepEqual(status, [' D README.md', ' D a.txt', ' M src/index.ts', '?? b.txt', '?? blob.bin', '?? src/new.ts']);
    failsWith(await cli(['vfs', 'ls', session]), 'SESSION_NOT_FOUND', 4);
    assert.equal(existsSync(join(home, 'vfs', session)), false);
  });
  await t.test('`vfs discard` drops a session and leaves the lower as it was', async () => {
    const committedTree = await snapshot(lower);
    const other = okJson<VfsSessionOpenResult>(await cli(['vfs', 'session', 'open', '--lower', lower])).id;
    okJson(await cli(['vfs', 'write', other, '/b.txt'], 'changed\n'));
    okJson(await cli(['vfs', 'rm', other, '/src']));

    okJson(await cli(['vfs', 'discard', other]));

    assert.deepEqual(await snapshot(lower), committedTree);
    failsWith(await cli(['vfs', 'cat', other, '/b.txt']), 'SESSION_NOT_FOUND', 4);
    failsWith(await cli(['vfs', 'commit', other]), 'SESSION_NOT_FOUND', 4);
    assert.equal(existsSync(join(home, 'vfs', other)), false);
  });
});

test('`astrid ignore check` agrees with `git check-ignore` on the same rules, and names builtin rules git lacks', async () => {
  await using dir = await tempDir('astrid-e2e-ignore-');
  const rules = '*.log\n!keep.log\nbuild/\ndocs/*.md\n';
  const repo = await gitRepo(join(dir.path, 'repo'), {
    '.gitignore': rules,
    '.astridignore': rules,
    'src/.gitignore': 'gen/\n',
    'src/.astridignore': 'gen/\n',
    'debug.log': '', 'keep.log': '', 'build/out.js': '', 'docs/a.md': '', 'docs/sub/b.md': '', 'src/gen/x.ts': '', 'src/a.ts': '', 'README.md': '',
  });
  await writeFile(join(repo, '.env'), 'X=1\n');
  const paths = ['debug.log', 'keep.log', 'build', 'build/out.js', 'docs/a.md', 'docs/sub/b.md', 'src/gen', 'src/gen/x.ts', 'src/a.ts', 'README.md', 'nothing/here.log'];

  const checked = okJson<IgnoreCheckEntry[]>(await astrid(['ignore', 'check', ...paths, '--root', repo]));
  const text = await astrid(['ignore', 'check', 'debug.log', 'src/a.ts', '.env', '--root', repo], { json: false });
  const env = okJson<IgnoreCheckEntry[]>(await astrid(['ignore', 'check', '.env', '--root', repo]));

  // `git check-ignore -v -n`: "source:line:pattern<TAB>path", or "::<TAB>path" when no rule matches.
  const gitLines = git(repo, ['check-ignore', '--no-index', '-v', '-n', ...paths]).split('\n').filter((l) => l !== '');
  const fromGit = new Map(gitLines.map((line) => {
    const [where = '', path = ''] = line.split('\t');
    const [source = '', lineNo = '', ...pattern] = where.split(':');
    return [path, { source: source.replace(/\.gitignore$/, '.astridignore'), line: lineNo === '' ? null : Number(lineNo), rule: pattern.join(':') }];
  }));
  const ignoredByGit = new Set(git(repo, ['check-ignore', '--no-index', ...paths]).split('\n').filter((l) => l !== ''));
  assert.deepEqual(checked.map((c) => c.path), paths);
  for (const c of checked) {
    assert.deepEqual(Object.keys(c).sort(), ['ignored', 'line', 'path', 'rule', 'source'], c.path);
    assert.equal(c.ignored, ignoredByGit.has(c.path), c.path);
    const g = fromGit.get(c.path);
    if (c.ignored) assert.deepEqual({ source: c.source, line: c.line, rule: c.rule }, g, c.path);
  }
  assert.deepEqual(checked.filter((c) => c.ignored).map((c) => c.path), ['debug.log', 'build', 'build/out.js', 'docs/a.md', 'src/gen', 'src/gen/x.ts', 'nothing/here.log']);
  assert.deepEqual(env, [{ path: '.env', ignored: true, rule: '.env', source: 'builtin', line: null }]);
  assert.equal(text.code, 0);
  assert.deepEqual(text.stdout.split('\n'), ['ignored  debug.log  .astridignore:1: *.log', 'visible  src/a.ts', 'ignored  .env  builtin: .env', '']);
});

test('the VFS and capability commands behave the same through a daemon', async () => {
  await using dir = await tempDir('astrid-e2e-vfs-daemon-');
  const home = join(dir.path, 'home');
  const lower = await gitRepo(join(dir.path, 'repo'), { 'a.txt': 'alpha\n', '.env': 'K=1\n' });
  await writeTree(dir.path, { 'blob.bin': BINARY });
  const cli = (args: readonly string[], stdin?: string) => astrid(args, { home, ...(stdin === undefined ? {} : { stdin }) });
  okJson(await cli(['init']));
  const original = await snapshot(lower);
  await using _daemon = await startDaemon(home);

  const session = okJson<VfsSessionOpenResult>(await cli(['vfs', 'session', 'open', '--lower', lower])).id;
  okJson(await cli(['vfs', 'write', session, '/blob.bin', '--from', join(dir.path, 'blob.bin')]));
  okJson(await cli(['vfs', 'mv', session, '/a.txt', '/b.txt']));
  const cat = okJson<VfsCatResult>(await cli(['vfs', 'cat', session, '/blob.bin']));
  const ls = okJson<VfsLsResult>(await cli(['vfs', 'ls', session]));
  const diff = okJson<VfsDiffResult>(await cli(['vfs', 'diff', session]));
  const minted = okJson<CapMintResult>(await cli(['cap', 'mint', '--capsule', 'fs', '--root', '/', '--rights', 'read', '--session', session]));
  const verified = okJson<CapInspectResult>(await cli(['cap', 'inspect', minted.handle, '--verify']));

  assert.deepEqual(Buffer.from(cat.base64, 'base64'), Buffer.from(BINARY));
  assert.deepEqual(ls.entries.map((e) => e.name), ['b.txt', 'blob.bin']);
  assert.deepEqual(diff.changes.map((c) => [c.change, c.path]), [['renamed', '/b.txt'], ['added', '/blob.bin']]);
  assert.deepEqual([verified.verified, verified.session], [true, session]);
  failsWith(await cli(['vfs', 'cat', session, '/.env']), 'PATH_IGNORED', 8);
  assert.deepEqual(await snapshot(lower), original);
  okJson(await cli(['vfs', 'discard', session]));
  assert.deepEqual(await snapshot(lower), original);
});

test('`vfs cat` and `vfs write` move files larger than a socket frame, the same with and without a daemon, lower and upper', async () => {
  await using dir = await tempDir('astrid-e2e-vfs-big-');
  const home = join(dir.path, 'home');
  const lower = await gitRepo(join(dir.path, 'repo'), { 'a.txt': 'alpha\n' });
  // 24 MiB: past the 16 MiB frame limit even before base64, and many chunks.
  const big = randomBytes(24 * 1024 * 1024);
  await writeFile(join(lower, 'big.bin'), big);
  await writeFile(join(dir.path, 'upper.bin'), big.subarray(1));
  const expected = (bytes: Uint8Array) => ({ code: 0, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength });
  const cat = async (path: string) => {
    const run = await astridDigest(['vfs', 'cat', session, path], { home });
    return { code: run.code, sha256: run.sha256, bytes: run.bytes, stderr: run.stderr };
  };
  okJson(await astrid(['init'], { home }));
  const session = okJson<VfsSessionOpenResult>(await astrid(['vfs', 'session', 'open', '--lower', lower], { home })).id;
  okJson(await astrid(['vfs', 'write', session, '/upper.bin', '--from', join(dir.path, 'upper.bin')], { home, timeoutMs: 120_000 }));

  for (const [path, bytes] of [['/big.bin', big], ['/upper.bin', big.subarray(1)]] as const) {
    const { stderr, ...got } = await cat(path);
    assert.deepEqual(got, expected(bytes), `${path} without a daemon: ${stderr}`);
  }
  {
    await using _daemon = await startDaemon(home);
    // A write past the frame limit goes up as a staged upload, then reads back the same.
    const written = okJson<VfsWriteResult>(await astrid(['vfs', 'write', session, '/through-daemon.bin', '--from', join(lower, 'big.bin')], { home, timeoutMs: 120_000 }));
    assert.equal(written.size, big.byteLength);
    for (const [path, bytes] of [['/big.bin', big], ['/upper.bin', big.subarray(1)], ['/through-daemon.bin', big]] as const) {
      const { stderr, ...got } = await cat(path);
      assert.deepEqual(got, expected(bytes), `${path} through a daemon: ${stderr}`);
    }
    assert.deepEqual(await readdir(join(home, 'run', 'uploads')), [], 'nothing is left staged');
  }
});
