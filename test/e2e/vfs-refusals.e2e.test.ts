import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { VfsSessionOpenResult } from '../../commands/vfs/session/open.ts';
import { tempDir } from '../support/temp-dir.ts';
import { assertBuilt, astrid, failsWith, okJson } from './run-cli.ts';
import { gitRepo, logEvents, snapshot } from './vfs-fixture.ts';

assertBuilt();

/** One refused command; `S` in args stands for the open session's id, `LOWER` for its directory. */
interface Refusal {
  readonly args: readonly string[];
  readonly code: string;
  readonly exit: number;
  readonly stdin?: string;
}

const refusals: readonly Refusal[] = [
  // Unknown sessions.
  ...[['vfs', 'write', 'nope', '/x.txt'], ['vfs', 'rm', 'nope', '/a.txt'], ['vfs', 'mv', 'nope', '/a.txt', '/b.txt'], ['vfs', 'mkdir', 'nope', '/d'],
    ['vfs', 'ls', 'nope'], ['vfs', 'cat', 'nope', '/a.txt'], ['vfs', 'diff', 'nope'], ['vfs', 'commit', 'nope'], ['vfs', 'discard', 'nope']]
    .map((args): Refusal => ({ args, code: 'SESSION_NOT_FOUND', exit: 4, stdin: 'x' })),
  // Paths escaping the root.
  ...[['vfs', 'write', 'S', '/../x'], ['vfs', 'write', 'S', '/src/../../x'], ['vfs', 'rm', 'S', '/../a.txt'], ['vfs', 'mv', 'S', '/a.txt', '/../b.txt'],
    ['vfs', 'mkdir', 'S', '/../d'], ['vfs', 'ls', 'S', '/..'], ['vfs', 'cat', 'S', '/../etc/passwd']]
    .map((args): Refusal => ({ args, code: 'PATH_ESCAPE', exit: 8, stdin: 'x' })),
  // Other bad paths and states.
  { args: ['vfs', 'write', 'S', '/a\u0001b'], code: 'PATH_INVALID', exit: 2, stdin: 'x' },
  { args: ['vfs', 'rm', 'S', '/missing.txt'], code: 'PATH_NOT_FOUND', exit: 4 },
  { args: ['vfs', 'write', 'S', '/no/such/dir.txt'], code: 'PATH_NOT_FOUND', exit: 4, stdin: 'x' },
  { args: ['vfs', 'mkdir', 'S', '/src'], code: 'PATH_EXISTS', exit: 2 },
  { args: ['vfs', 'cat', 'S', '/src'], code: 'PATH_IS_DIRECTORY', exit: 2 },
  { args: ['vfs', 'write', 'S', '/x.txt', '--from', '/nonexistent/draft.ts'], code: 'NOT_FOUND', exit: 4 },
  { args: ['vfs', 'session', 'open', '--lower', '/nonexistent/repo'], code: 'NOT_FOUND', exit: 4 },
  { args: ['vfs', 'session', 'open', '--lower', 'LOWER/a.txt'], code: 'PATH_NOT_DIRECTORY', exit: 2 },
  // Bad durations, rights and claims.
  ...['10', '10x', '0m', '-5m', '1.5h', '', 'forever'].map((ttl): Refusal => ({
    args: ['cap', 'mint', '--capsule', 'fs', '--root', '/src', '--rights', 'read', `--ttl=${ttl}`], code: 'INVALID_ARGUMENT', exit: 2,
  })),
  ...['read,fly', '', ',', 'READ', 'read;write'].map((rights): Refusal => ({
    args: ['cap', 'mint', '--capsule', 'fs', '--root', '/src', `--rights=${rights}`, '--ttl', '10m'], code: 'INVALID_ARGUMENT', exit: 2,
  })),
  { args: ['cap', 'mint', '--capsule', 'Not_A_Capsule', '--root', '/src', '--rights', 'read'], code: 'INVALID_ARGUMENT', exit: 2 },
  { args: ['cap', 'mint', '--capsule', 'fs', '--root', '/../x', '--rights', 'read'], code: 'INVALID_ARGUMENT', exit: 2 },
  { args: ['cap', 'mint', '--capsule', 'fs', '--root', '/src'], code: 'INVALID_ARGUMENT', exit: 2 },
  { args: ['cap', 'attenuate', 'astr1_x'], code: 'INVALID_ARGUMENT', exit: 2 },
  { args: ['cap', 'attenuate', 'astr1_x', '--ttl', 'soon'], code: 'INVALID_ARGUMENT', exit: 2 },
  { args: ['cap', 'revoke', 'not-a-handle'], code: 'HANDLE_INVALID', exit: 8 },
  { args: ['cap', 'inspect', 'astr1_AAAA'], code: 'HANDLE_INVALID', exit: 8 },
  // Bad ignore checks.
  { args: ['ignore', 'check', '../outside', '--root', 'LOWER'], code: 'PATH_INVALID', exit: 2 },
  { args: ['ignore', 'check', 'a.txt', '--root', '/nonexistent/repo'], code: 'NOT_FOUND', exit: 4 },
];

test('issue-4 commands refuse bad input with a coded error and write nothing to the log or the lower', async (t) => {
  await using dir = await tempDir('astrid-e2e-vfs-bad-');
  const home = join(dir.path, 'home');
  const lower = await gitRepo(join(dir.path, 'repo'), { 'a.txt': 'a\n', 'src/index.ts': 'export {};\n' });
  okJson(await astrid(['init'], { home }));
  const session = okJson<VfsSessionOpenResult>(await astrid(['vfs', 'session', 'open', '--lower', lower], { home })).id;
  const before = await logEvents(home);
  const tree = await snapshot(lower);

  for (const r of refusals) {
    const args = r.args.map((a) => (a === 'S' ? session : a.replace(/^LOWER/, lower)));
    await t.test(`astrid ${r.args.join(' ')} → ${r.code}`, async () => {
      failsWith(await astrid(args, { home, ...(r.stdin === undefined ? {} : { stdin: r.stdin }) }), r.code, r.exit);
    });
  }

  await t.test('left the log and the lower untouched', async () => {
    const after = await logEvents(home);
    assert.equal(after.length, before.length);
    assert.deepEqual(after, before);
    assert.deepEqual(await snapshot(lower), tree);
  });
});
