import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { revocationsProjection, vfsProjection } from '../../projections/index.ts';
import { tempDir } from '../../test/support/temp-dir.ts';
import { bootOwner, type Owner } from '../boot.ts';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import type { KvValueSet } from '../events/index.ts';
import { createHomeMarker, homeLayout } from '../home/index.ts';
import { acquireOwnerLock, connectSocket } from '../ipc/index.ts';
import type { ProjectionDefinition } from '../projection/index.ts';
import type { KernelApi } from './api.ts';
import { RemoteKernel } from './remote-kernel.ts';

const notes: ProjectionDefinition = {
  name: 'notes',
  version: 1,
  types: ['kv.value.set'],
  apply(state, event) {
    const { key, value } = event.data as KvValueSet;
    state.put(key, value as string);
  },
};

const setNote = (key: string, value: string) => ({ type: 'kv.value.set', v: 1, source: 'user:test', data: { namespace: 'n', key, value } });

interface Fixture extends AsyncDisposable {
  readonly api: KernelApi;
  readonly owner: Owner;
}

async function ownerFor(home: string, serve: boolean, projections: readonly ProjectionDefinition[]): Promise<Owner> {
  await createHomeMarker(home);
  const lock = await acquireOwnerLock(home, { role: 'command' });
  assert.ok(lock !== null);
  return bootOwner({ home, role: 'command', lock, projections, serve });
}

const projectionsFor = (withVfs: boolean): ProjectionDefinition[] => (withVfs ? [notes, vfsProjection, revocationsProjection] : [notes]);

/** `withVfs` adds the vfs and revocations projections (for the vfs and capability operations). */
const kinds: Record<string, (home: string, withVfs?: boolean) => Promise<Fixture>> = {
  LocalKernel: async (home, withVfs = false) => {
    const owner = await ownerFor(home, false, projectionsFor(withVfs));
    return { api: owner.kernel, owner, [Symbol.asyncDispose]: () => owner.close() };
  },
  RemoteKernel: async (home, withVfs = false) => {
    const owner = await ownerFor(home, true, projectionsFor(withVfs));
    const client = await connectSocket(homeLayout(home).socket);
    assert.ok(client !== null);
    const api = new RemoteKernel(client);
    return {
      api,
      owner,
      async [Symbol.asyncDispose]() {
        await api.close();
        await owner.close();
      },
    };
  },
};

for (const [kind, make] of Object.entries(kinds)) {
  describe(`KernelApi contract: ${kind}`, () => {
    test('publish() is durable and subscribe() replays it, then follows live messages', async () => {
      await using dir = await tempDir();
      await using k = await make(`${dir.path}/home`);
      const [first] = await k.api.publish([{ subject: 'agent.v1.response', payload: { type: 'agent_response', text: 'hi', is_final: true } }], { source: 'user:test' });
      const controller = new AbortController();
      const seen: string[] = [];

      const reading = (async () => {
        for await (const m of k.api.subscribe('agent.>', { from: 1, signal: controller.signal })) {
          seen.push(`${m.seq}:${m.subject}:${m.kind}`);
          if (seen.length === 2) controller.abort();
        }
      })();
      await k.api.publish([{ subject: 'other.topic', payload: 1 }, { subject: 'agent.x', payload: { n: 2 } }], { source: 'user:test' });
      await reading;

      assert.equal(first?.kind, 'agent_response');
      assert.deepEqual(seen, [`${first?.seq}:agent.v1.response:agent_response`, `${(first?.seq ?? 0) + 2}:agent.x:custom`]);
    });

    test('append() is readable at once through projectionGet() and projectionPage()', async () => {
      await using dir = await tempDir();
      await using k = await make(`${dir.path}/home`);

      await k.api.append([setNote('a', 'one'), setNote('b', 'two')]);
      await k.api.append([setNote('a', 'three')]);

      assert.equal(await k.api.projectionGet('notes', 'a'), 'three');
      const now = await k.api.projectionPage('notes', {});
      const before = await k.api.projectionPage('notes', { at: 3 });
      assert.deepEqual(now.entries, [['a', 'three'], ['b', 'two']]);
      assert.deepEqual(before.entries, [['a', 'one'], ['b', 'two']]);
      assert.equal(before.asOf, 3);
    });

    test('replay() with until freezes the projection and a full replay unfreezes it', async () => {
      await using dir = await tempDir();
      await using k = await make(`${dir.path}/home`);
      await k.api.append([setNote('a', 'one')]);
      await k.api.append([setNote('a', 'two')]);
      const progress: number[] = [];

      const frozen = await k.api.replay({ until: 2, onProgress: (p) => progress.push(p.seq) });
      const whileFrozen = await k.api.projectionGet('notes', 'a');
      const full = await k.api.replay({});

      assert.deepEqual(frozen.projections.map((p) => [p.checkpoint, p.pinnedAt]), [[2, 2]]);
      assert.equal(whileFrozen, 'one');
      assert.deepEqual(full.projections.map((p) => [p.checkpoint, p.pinnedAt]), [[3, null]]);
      assert.equal(await k.api.projectionGet('notes', 'a'), 'two');
      assert.ok(progress.length > 0);
    });

    test('errors keep their codes: bad subject, bad pattern, unknown projection, seq past the head', async () => {
      await using dir = await tempDir();
      await using k = await make(`${dir.path}/home`);
      const code = (c: string) => (e: unknown) => isKernelError(e) && e.code === c;

      await assert.rejects(k.api.publish([{ subject: 'a..b', payload: 1 }], { source: 'user:test' }), code(ErrorCode.SubjectInvalid));
      await assert.rejects(k.api.publish([{ subject: 'a.*', payload: 1 }], { source: 'user:test' }), code(ErrorCode.SubjectInvalid));
      await assert.rejects(k.api.projectionGet('nope', 'x'), code(ErrorCode.ProjectionUnknown));
      await assert.rejects(k.api.replay({ until: 99 }), code(ErrorCode.InvalidArgument));
      await assert.rejects(k.api.shutdown(), code(ErrorCode.DaemonNotRunning));
      await assert.rejects(
        (async () => {
          for await (const _ of k.api.subscribe('a.>.b', {})) void _;
        })(),
        code(ErrorCode.PatternInvalid),
      );

      assert.equal((await k.api.status()).head.seq, 1);
    });

    test('capMint() binds a handle to an open VFS session and capVerify() reports it', async () => {
      await using dir = await tempDir();
      await using k = await make(`${dir.path}/home`, true);
      const session = await k.api.vfsOpen(dir.path, { source: 'user:test' });
      const request = { capsuleId: 'fs', root: '/', rights: ['read', 'list'], expiresAt: Date.now() + 60_000 };

      const bound = await k.api.capMint({ ...request, session: session.id });
      const unbound = await k.api.capMint(request);
      const verified = await k.api.capVerify(bound.handle, 'fs');

      assert.equal(bound.session, session.id);
      assert.equal(verified.session, session.id);
      assert.equal('session' in unbound, false);
      await assert.rejects(k.api.capMint({ ...request, session: 'nosuchsession' }), (e) => isKernelError(e, ErrorCode.SessionNotFound));
      await assert.rejects(k.api.capMint({ ...request, session: 'Bad/Id' }), (e) => isKernelError(e));
    });

    test('capVerify() refuses a handle it verified before once it is revoked, and a tampered one every time', async () => {
      await using dir = await tempDir();
      await using k = await make(`${dir.path}/home`, true);
      const minted = await k.api.capMint({ capsuleId: 'fs', root: '/', rights: ['read'], expiresAt: Date.now() + 60_000 });
      const tampered = `${minted.handle.slice(0, -2)}${minted.handle.endsWith('AA') ? 'AB' : 'AA'}`;
      const invalid = (reason: string) => (e: unknown) => isKernelError(e, ErrorCode.HandleInvalid) && e.details?.['reason'] === reason;

      const before = await k.api.capVerify(minted.handle, 'fs');
      await k.api.capRevoke(minted.handle, { source: 'user:test' });

      assert.equal(before.id, minted.id);
      await assert.rejects(k.api.capVerify(minted.handle, 'fs'), invalid('revoked'));
      await assert.rejects(k.api.capVerify(minted.handle, 'other'), invalid('capsule'));
      for (let i = 0; i < 2; i += 1) await assert.rejects(k.api.capVerify(tampered, 'fs'), (e) => isKernelError(e, ErrorCode.HandleInvalid));
      await assert.rejects(k.api.capRevoke(tampered, { source: 'user:test' }), (e) => isKernelError(e, ErrorCode.HandleInvalid));
    });

    test('read() returns envelopes in order and follow() yields new events', async () => {
      await using dir = await tempDir();
      await using k = await make(`${dir.path}/home`);
      await k.api.append([setNote('a', '1'), setNote('b', '2'), setNote('c', '3')]);
      const controller = new AbortController();
      const followed: number[] = [];

      const following = (async () => {
        for await (const e of k.api.follow({ signal: controller.signal })) {
          followed.push(e.seq);
          controller.abort();
        }
      })();
      await new Promise((r) => setTimeout(r, 50));
      await k.api.append([setNote('d', '4')]);
      await following;

      assert.deepEqual((await k.api.read({ from: 2, limit: 2 })).map((e) => e.seq), [2, 3]);
      assert.deepEqual(followed, [5]);
      assert.equal((await k.api.verify()).ok, true);
    });
  });
}

test('the socket refuses a client that acts as a capsule or the kernel', async () => {
  await using dir = await tempDir();
  await using k = await kinds['RemoteKernel']!(`${dir.path}/home`);

  await assert.rejects(k.api.append([{ ...setNote('a', 'x'), source: 'capsule:evil' }]), (e) => isKernelError(e, ErrorCode.InvalidArgument));
  await assert.rejects(k.api.publish([{ subject: 'a', payload: 1 }], { source: 'kernel' }), (e) => isKernelError(e, ErrorCode.InvalidArgument));

  assert.equal((await k.api.status()).head.seq, 1);
});
