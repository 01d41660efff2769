import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CapAttenuateResult } from '../../commands/cap/attenuate.ts';
import type { CapInspectResult } from '../../commands/cap/inspect.ts';
import type { CapMintResult } from '../../commands/cap/mint.ts';
import type { CapRevokeResult } from '../../commands/cap/revoke.ts';
import type { VfsSessionOpenResult } from '../../commands/vfs/session/open.ts';
import { tempDir } from '../support/temp-dir.ts';
import { assertBuilt, astrid, failsWith, okJson } from './run-cli.ts';
import { gitRepo, logEvents } from './vfs-fixture.ts';

assertBuilt();

/**
 * The handle with one character of its MAC changed: well-formed, but forged. The tenth
 * character from the end carries six whole bits of the tag (the last one may carry padding).
 */
function forge(handle: string): string {
  const at = handle.length - 10;
  return `${handle.slice(0, at)}${handle[at] === 'A' ? 'B' : 'A'}${handle.slice(at + 1)}`;
}

test('`astrid cap`: mint, attenuate offline (narrower only), inspect, revoke, and the revoked handles refused', async (t) => {
  await using dir = await tempDir('astrid-e2e-cap-');
  const home = join(dir.path, 'home');
  const cli = (args: readonly string[], stdin?: string) => astrid(args, { home, ...(stdin === undefined ? {} : { stdin }) });
  okJson(await cli(['init']));
  let minted: CapMintResult | undefined;
  let child: CapAttenuateResult | undefined;

  await t.test('`cap mint` prints a handle and its claims, and records nothing', async () => {
    const before = await logEvents(home);

    minted = okJson<CapMintResult>(await cli(['cap', 'mint', '--capsule', 'fs', '--root', '/src', '--rights', 'read,list', '--ttl', '10m']));
    const text = await astrid(['cap', 'mint', '--capsule', 'fs', '--root', '/src', '--rights', 'read', '--ttl', '10m'], { home, json: false });

    assert.match(minted.handle, /^astr1_[A-Za-z0-9_-]+$/);
    assert.deepEqual([minted.capsuleId, minted.root, minted.rights], ['fs', '/src', ['read', 'list']]);
    assert.deepEqual(minted.chainIds, [minted.id]);
    assert.equal(minted.expiresAtIso, new Date(minted.expiresAt).toISOString());
    assert.match(text.stdout, /^astr1_[A-Za-z0-9_-]+\n$/);
    assert.deepEqual(await logEvents(home), before);
  });
  await t.test('`cap inspect` decodes the claims without a secret; --verify has the kernel accept it', async () => {
    const handle = minted?.handle ?? '';
    const decoded = okJson<CapInspectResult>(await cli(['cap', 'inspect', handle]));
    const verified = okJson<CapInspectResult>(await cli(['cap', 'inspect', '-', '--verify'], `${handle}\n`));

    assert.deepEqual({ ...decoded, verified: true }, verified);
    assert.equal(decoded.verified, false);
    assert.deepEqual(Object.keys(decoded).sort(), ['capsuleId', 'chainIds', 'expiresAt', 'expiresAtIso', 'id', 'rights', 'rightsMask', 'root', 'verified']);
  });
  await t.test('`cap attenuate` narrows offline, and the narrower handle verifies', async () => {
    const handle = minted?.handle ?? '';
    child = okJson<CapAttenuateResult>(await astrid(['cap', 'attenuate', handle, '--root', '/src/lib', '--rights', 'read', '--ttl', '5m']));
    const viaStdin = okJson<CapAttenuateResult>(await astrid(['cap', 'attenuate', '-', '--rights', 'list'], { stdin: handle }));

    assert.deepEqual([child.capsuleId, child.root, child.rights], ['fs', '/src/lib', ['read']]);
    assert.deepEqual(child.chainIds, [minted?.id, child.id]);
    assert.ok(child.expiresAt <= (minted?.expiresAt ?? 0));
    assert.deepEqual([viaStdin.root, viaStdin.rights], ['/src', ['list']]);
    assert.equal(okJson<CapInspectResult>(await cli(['cap', 'inspect', child.handle, '--verify'])).id, child.id);
  });
  await t.test('`cap attenuate` refuses to widen with CAPABILITY_DENIED', async () => {
    const handle = child?.handle ?? '';

    failsWith(await astrid(['cap', 'attenuate', handle, '--root', '/src']), 'CAPABILITY_DENIED', 8);
    failsWith(await astrid(['cap', 'attenuate', handle, '--root', '/etc']), 'CAPABILITY_DENIED', 8);
    failsWith(await astrid(['cap', 'attenuate', handle, '--rights', 'read,write']), 'CAPABILITY_DENIED', 8);
    failsWith(await astrid(['cap', 'attenuate', handle, '--ttl', '7d']), 'CAPABILITY_DENIED', 8);
    failsWith(await astrid(['cap', 'attenuate', 'astr1_nonsense', '--rights', 'read']), 'HANDLE_INVALID', 8);
  });
  await t.test('a forged handle is refused by --verify and by revoke, and nothing is recorded', async () => {
    const before = await logEvents(home);
    const forged = forge(child?.handle ?? '');

    assert.equal(okJson<CapInspectResult>(await cli(['cap', 'inspect', forged])).id, child?.id);
    assert.equal(failsWith(await cli(['cap', 'inspect', forged, '--verify']), 'HANDLE_INVALID', 8).details?.['reason'], 'signature');
    failsWith(await cli(['cap', 'revoke', forged]), 'HANDLE_INVALID', 8);
    assert.deepEqual(await logEvents(home), before);
  });
  await t.test('`cap revoke` records the revocation; the handle and every handle derived from it are refused', async () => {
    const before = await logEvents(home);

    const revoked = okJson<CapRevokeResult>(await cli(['cap', 'revoke', minted?.handle ?? '']));

    const after = await logEvents(home);
    assert.equal(revoked.id, minted?.id);
    assert.deepEqual(after.slice(before.length).map((e) => [e.seq, e.type, e.data]), [[revoked.seq, 'capability.revoked', { id: minted?.id }]]);
    for (const handle of [minted?.handle ?? '', child?.handle ?? '']) {
      const error = failsWith(await cli(['cap', 'inspect', handle, '--verify']), 'HANDLE_INVALID', 8);
      assert.deepEqual(error.details, { reason: 'revoked', revokedId: minted?.id });
      assert.equal(okJson<CapInspectResult>(await cli(['cap', 'inspect', handle])).verified, false);
    }
  });
  await t.test('`cap mint --session` binds the handle to a VFS session, and attenuation keeps it', async () => {
    const lower = await gitRepo(join(dir.path, 'repo'), { 'a.txt': 'a\n' });
    const session = okJson<VfsSessionOpenResult>(await cli(['vfs', 'session', 'open', '--lower', lower])).id;

    const bound = okJson<CapMintResult>(await cli(['cap', 'mint', '--capsule', 'fs', '--root', '/', '--rights', 'read', '--ttl', '1h', '--session', session]));
    const narrowed = okJson<CapAttenuateResult>(await astrid(['cap', 'attenuate', bound.handle, '--root', '/docs']));

    assert.equal(bound.session, session);
    assert.equal(narrowed.session, session);
    assert.equal(okJson<CapInspectResult>(await cli(['cap', 'inspect', narrowed.handle, '--verify'])).session, session);
  });
});
