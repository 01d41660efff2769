import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { tempDir } from '../../test/support/temp-dir.ts';
import {
  acquireOwnerLock,
  assertOwnerLockSupported,
  readOwnerInfo,
  waitForOwnerLock,
  type OwnerInfo,
} from './owner-lock.ts';
import { ownerInfoPath, ownerSocketPath } from './run-dir.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixture = fileURLToPath(new URL('./owner-lock.fixture.ts', import.meta.url));

/** Spawns a child that holds the owner lock of `home`; resolves once it has it. */
async function lockHolder(home: string): Promise<ChildProcess & AsyncDisposable> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, home], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  assert.equal(line.toString(), 'locked\n');
  return Object.assign(child, {
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  });
}

test('acquireOwnerLock() returns null while another lock in this process holds the home', async () => {
  await using dir = await tempDir();
  await using first = await acquireOwnerLock(dir.path, { role: 'daemon' });

  const second = await acquireOwnerLock(dir.path, { role: 'command' });

  assert.notEqual(first, null);
  assert.equal(second, null);
});

test('acquireOwnerLock() succeeds again once the holder is closed, and close() is idempotent', async () => {
  await using dir = await tempDir();
  const first = await acquireOwnerLock(dir.path, { role: 'daemon' });
  assert.ok(first);

  await first.close();
  await first.close();
  await using second = await acquireOwnerLock(dir.path, { role: 'command' });

  assert.equal(first.released, true);
  assert.equal(second?.info.role, 'command');
});

test('acquireOwnerLock() shares one lock between two spellings of a home', async () => {
  await using dir = await tempDir();
  const home = join(dir.path, 'home');
  await mkdir(home);
  await symlink(home, join(dir.path, 'alias'));
  await using lock = await acquireOwnerLock(home, { role: 'daemon' });

  const viaAlias = await acquireOwnerLock(join(dir.path, 'alias'), { role: 'command' });

  assert.ok(lock);
  assert.equal(viaAlias, null);
});

test('acquireOwnerLock() records the holder in run/owner.json with private modes', async () => {
  await using dir = await tempDir();
  await using lock = await acquireOwnerLock(dir.path, { role: 'daemon' });

  const recorded = JSON.parse(await readFile(ownerInfoPath(dir.path), 'utf8')) as OwnerInfo;
  const fileMode = (await stat(ownerInfoPath(dir.path))).mode & 0o777;
  const dirMode = (await stat(join(dir.path, 'run'))).mode & 0o777;

  assert.deepEqual(recorded, lock?.info);
  assert.equal(recorded.pid, process.pid);
  assert.equal(recorded.socket, ownerSocketPath(dir.path));
  assert.equal(fileMode, 0o600);
  assert.equal(dirMode, 0o700);
});

test('readOwnerInfo() returns the holder while held and null once released', async () => {
  await using dir = await tempDir();
  const lock = await acquireOwnerLock(dir.path, { role: 'daemon', socket: '/somewhere/else.sock' });
  assert.ok(lock);

  const whileHeld = await readOwnerInfo(dir.path);
  await lock.close();
  const afterRelease = await readOwnerInfo(dir.path);

  assert.deepEqual(whileHeld, lock.info);
  assert.equal(whileHeld?.socket, '/somewhere/else.sock');
  assert.equal(afterRelease, null);
  await assert.rejects(stat(ownerInfoPath(dir.path)), { code: 'ENOENT' });
});

test('readOwnerInfo() returns null for a missing home', async () => {
  await using dir = await tempDir();

  assert.equal(await readOwnerInfo(join(dir.path, 'nope')), null);
});

test('acquireOwnerLock() throws HOME_NOT_INITIALIZED for a missing home', async () => {
  await using dir = await tempDir();

  await assert.rejects(acquireOwnerLock(join(dir.path, 'nope'), { role: 'command' }), (error) =>
    isKernelError(error, ErrorCode.HomeNotInitialized),
  );
});

test('acquireOwnerLock() rethrows the reason of an aborted signal', async () => {
  await using dir = await tempDir();
  const reason = new Error('stop');

  await assert.rejects(acquireOwnerLock(dir.path, { role: 'command', signal: AbortSignal.abort(reason) }), (error) => error === reason);
});

test('assertOwnerLockSupported() throws UNSUPPORTED off Linux', () => {
  assert.throws(() => assertOwnerLockSupported('darwin'), (error) => isKernelError(error, ErrorCode.Unsupported));
  assert.doesNotThrow(() => assertOwnerLockSupported('linux'));
});

test('waitForOwnerLock() calls onWait once with the holder and resolves when it is released', async () => {
  await using dir = await tempDir();
  const holder = await acquireOwnerLock(dir.path, { role: 'daemon' });
  assert.ok(holder);
  const seen: (OwnerInfo | null)[] = [];

  const waiting = waitForOwnerLock(dir.path, {
    role: 'command',
    onWait: (info) => {
      seen.push(info);
      setTimeout(() => void holder.close(), 60); // several polls later
    },
  });
  await using lock = await waiting;

  assert.deepEqual(seen, [holder.info]);
  assert.equal(lock.info.role, 'command');
});

test('waitForOwnerLock() rejects with the signal reason while the home stays held', async () => {
  await using dir = await tempDir();
  await using holder = await acquireOwnerLock(dir.path, { role: 'daemon' });
  const controller = new AbortController();
  const reason = new Error('gave up');

  const waiting = waitForOwnerLock(dir.path, { role: 'command', signal: controller.signal, onWait: () => controller.abort(reason) });

  assert.ok(holder);
  await assert.rejects(waiting, (error) => error === reason);
});

test('acquireOwnerLock() succeeds at once after the holding process is killed with SIGKILL', async () => {
  await using dir = await tempDir();
  await using child = await lockHolder(dir.path);

  const whileAlive = await acquireOwnerLock(dir.path, { role: 'command' });
  const holder = await readOwnerInfo(dir.path);
  child.kill('SIGKILL');
  await once(child, 'exit');
  const staleRecord = await readOwnerInfo(dir.path);
  await using lock = await acquireOwnerLock(dir.path, { role: 'command' });

  assert.equal(whileAlive, null);
  assert.equal(holder?.pid, child.pid);
  assert.equal(holder?.role, 'command');
  assert.equal(staleRecord, null);
  assert.equal(lock?.info.pid, process.pid);
});

test('waitForOwnerLock() tells who holds the home and takes it when that process is killed', async () => {
  await using dir = await tempDir();
  await using child = await lockHolder(dir.path);
  let holder: OwnerInfo | null = null;

  await using lock = await waitForOwnerLock(dir.path, {
    role: 'daemon',
    onWait: (info) => {
      holder = info;
      child.kill('SIGKILL');
    },
  });

  assert.equal((holder as OwnerInfo | null)?.pid, child.pid);
  assert.equal(lock.info.role, 'daemon');
});
