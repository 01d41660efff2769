import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { bootOwner, type Owner } from '../../kernel/boot.ts';
import { packCapsuleBuffer } from '../../kernel/capsule/archive/index.ts';
import { capsuleFiles } from '../../kernel/capsule/installed/index.ts';
import { isKernelError } from '../../kernel/errors/index.ts';
import { createHomeMarker } from '../../kernel/home/index.ts';
import { acquireOwnerLock } from '../../kernel/ipc/index.ts';
import { allProjections } from '../../projections/index.ts';
import { tempDir } from '../support/temp-dir.ts';

async function owner(home: string): Promise<Owner> {
  await createHomeMarker(home);
  const lock = await acquireOwnerLock(home, { role: 'command' });
  assert.ok(lock !== null);
  return bootOwner({ home, role: 'command', lock, projections: allProjections, materializers: [capsuleFiles], serve: false });
}

async function capsuleDir(root: string, version: string, extra: Record<string, string> = {}): Promise<string> {
  const dir = join(root, `src-${version}`);
  await mkdir(join(dir, 'assets'), { recursive: true });
  await writeFile(join(dir, 'Capsule.toml'), `[package]\nname = "hello"\nversion = "${version}"\ndescription = "greets"\n`);
  await writeFile(join(dir, 'assets', 'greeting.txt'), `hello from ${version}\n`);
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
  return dir;
}

/** Every file under `dir` with its mode and SHA-256, for byte-for-byte comparison. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(d, entry.name);
      const mode = ((await stat(path)).mode & 0o777).toString(8);
      if (entry.isDirectory()) {
        out.push(`${relative(dir, path)}/ ${mode}`);
        await walk(path);
      } else {
        out.push(`${relative(dir, path)} ${mode} ${createHash('sha256').update(await readFile(path)).digest('hex')}`);
      }
    }
  };
  await walk(dir);
  return out;
}

test('installCapsule() records the archive and materialises it; replay restores deleted trees byte for byte', async () => {
  await using dir = await tempDir();
  const home = join(dir.path, 'home');
  await using o = await owner(home);
  const { archive } = await packCapsuleBuffer(await capsuleDir(dir.path, '0.1.0', { 'notes.md': 'n' }));

  const receipt = await o.kernel.installCapsule(archive, { source: 'user:test' });
  const before = await snapshot(join(home, 'capsules', 'hello'));
  await rm(join(home, 'capsules'), { recursive: true, force: true });
  await o.kernel.replay({});
  const after = await snapshot(join(home, 'capsules', 'hello'));

  assert.deepEqual([receipt.capsuleId, receipt.version, receipt.replaced], ['hello', '0.1.0', null]);
  assert.ok(before.some((line) => line.startsWith('assets/greeting.txt 644')));
  assert.deepEqual(after, before);
  const event = o.log.get(receipt.seq);
  assert.equal(event?.type, 'capsule.installed');
  assert.ok(Buffer.from(o.log.getBlob((event?.data as { archive: string }).archive) ?? []).equals(archive));
});

test('installCapsule() of a new version replaces the old tree, and removeCapsule() deletes it', async () => {
  await using dir = await tempDir();
  const home = join(dir.path, 'home');
  await using o = await owner(home);
  await o.kernel.installCapsule((await packCapsuleBuffer(await capsuleDir(dir.path, '0.1.0', { 'old.txt': 'x' }))).archive, { source: 'user:test' });

  const upgrade = await o.kernel.installCapsule((await packCapsuleBuffer(await capsuleDir(dir.path, '0.2.0'))).archive, { source: 'user:test' });
  const files = await readdir(join(home, 'capsules', 'hello'));
  const greeting = await readFile(join(home, 'capsules', 'hello', 'assets', 'greeting.txt'), 'utf8');
  await o.kernel.removeCapsule('hello', { source: 'user:test' });

  assert.equal(upgrade.replaced, '0.1.0');
  assert.deepEqual(files.sort(), ['Capsule.toml', 'assets']);
  assert.equal(greeting, 'hello from 0.2.0\n');
  assert.deepEqual((await readdir(join(home, 'capsules'))).filter((n) => !n.startsWith('.')), []);
  await assert.rejects(o.kernel.removeCapsule('hello', { source: 'user:test' }), (e) => isKernelError(e, 'CAPSULE_NOT_FOUND'));
});

test('installCapsule() refuses a broken archive with its code and writes nothing', async () => {
  await using dir = await tempDir();
  const home = join(dir.path, 'home');
  await using o = await owner(home);
  const head = o.log.head().seq;
  const good = (await packCapsuleBuffer(await capsuleDir(dir.path, '0.1.0'))).archive;
  const truncated = good.subarray(0, Math.floor(good.length / 2));

  await assert.rejects(o.kernel.installCapsule(truncated, { source: 'user:test' }), (e) => isKernelError(e, 'ARCHIVE_INVALID'));
  await assert.rejects(o.kernel.installCapsule(Buffer.from('not a capsule'), { source: 'user:test' }), (e) => isKernelError(e, 'ARCHIVE_INVALID'));

  assert.equal(o.log.head().seq, head);
  assert.deepEqual((await readdir(join(home, 'capsules'))).filter((n) => n !== '.state'), []);
});
