import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readOwnerInfo, type OwnerInfo } from '../../kernel/ipc/index.ts';
import type { BusMessage, PublishReceipt } from '../../kernel/service/index.ts';
import { assertCliBuilt, homeReaper, runCli, runCliJson, spawnCli, startDaemon, type CliResult } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

before(() => assertCliBuilt());

/** Polls who owns `home` until `predicate` holds, for at most `timeoutMs`. */
async function waitForOwner(home: string, predicate: (owner: OwnerInfo | null) => boolean, timeoutMs = 20_000): Promise<OwnerInfo | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const owner = await readOwnerInfo(home);
    if (predicate(owner)) return owner;
    if (Date.now() > deadline) throw new Error(`The owner of ${home} is still ${JSON.stringify(owner)}`);
    await sleep(20);
  }
}

interface Sent {
  readonly phase: string;
  readonly i: number;
  readonly result: CliResult;
  readonly startedAt: number;
  readonly endedAt: number;
}

test('a `bus subscribe` that owns the home hands it to `daemon start` and prints every message exactly once', { timeout: 120_000 }, async (t) => {
  await using dir = await tempDir('astrid-handover-');
  const home = join(dir.path, 'home');
  await using _reaper = homeReaper(home);
  const { head } = await runCliJson<{ head: number }>(home, ['init']);
  await using sub = spawnCli(home, ['bus', 'subscribe', 'ho.>', '--from', String(head + 1)]);
  await waitForOwner(home, (o) => o?.pid === sub.pid);

  const sent: Sent[] = [];
  const publish = async (phase: string, i: number): Promise<void> => {
    const startedAt = Date.now();
    const result = await runCli(home, ['bus', 'publish', `ho.${phase}`, JSON.stringify({ phase, i })]);
    sent.push({ phase, i, result, startedAt, endedAt: Date.now() });
  };
  for (let i = 0; i < 3; i++) await publish('before', i);

  // During: two lanes keep publishing, one after another, for as long as `daemon start` runs.
  let starting = true;
  const lanes = [0, 1].map(async (lane) => {
    for (let i = 0; starting; i++) await publish('during', lane * 1000 + i);
  });
  const [started, duringDone] = await Promise.allSettled([startDaemon(home).finally(() => (starting = false)), Promise.all(lanes)]);
  if (started.status === 'rejected') assert.fail(`daemon start failed: ${String(started.reason)}`);
  await using daemon = started.value;
  if (duringDone.status === 'rejected') throw duringDone.reason;
  const owner = await readOwnerInfo(home);
  assert.deepEqual([owner?.role, owner?.pid], ['daemon', daemon.pid], 'the daemon does not own the home');
  const handoverAt = Date.parse(owner?.startedAt ?? '');
  const during = sent.filter((s) => s.phase === 'during');
  const spanning = during.filter((s) => s.startedAt < handoverAt && s.endedAt > handoverAt).length;
  assert.equal(sub.done, false, `the subscriber exited during the handover: ${sub.stderr}`);

  for (let i = 0; i < 3; i++) await publish('after', i);
  await daemon.stop();
  // With the daemon gone the subscriber owns the home again (or a publisher does, briefly).
  for (let i = 0; i < 3; i++) await publish('stopped', i);

  const acked = sent.filter((s) => s.result.code === 0).map((s) => ({ ...s, receipt: (JSON.parse(s.result.stdout) as { first: PublishReceipt }).first }));
  const lastSeq = Math.max(...acked.map((a) => a.receipt.seq));
  await sub.waitForLine((l) => (JSON.parse(l) as BusMessage).seq === lastSeq, { timeoutMs: 20_000 }).catch(() => undefined);
  sub.kill('SIGTERM');
  const exit = await sub.exited;
  const got = sub.lines.map((l) => JSON.parse(l) as BusMessage);
  t.diagnostic(`${sent.length} publishes, ${acked.length} acknowledged, ${during.length} of them while \`daemon start\` ran, ${spanning} of those spanning the moment the daemon took the lock`);
  t.diagnostic(`the subscriber printed ${got.length} messages and exited ${exit.code ?? exit.signal}`);

  await t.test('the subscriber prints every acknowledged message exactly once, in order', () => {
    assert.deepEqual(
      got.map((m) => [m.seq, m.payload]),
      acked.map((a) => [a.receipt.seq, { phase: a.phase, i: a.i }]).sort((x, y) => Number(x[0]) - Number(y[0])),
    );
  });

  await t.test('the subscriber survives the handover and the daemon stop, and exits cleanly on SIGTERM', () => {
    assert.equal(exit.code, 0, sub.stderr);
  });

  await t.test('every publish before, during and after the handover succeeds', () => {
    const failed = sent.filter((s) => s.result.code !== 0).map((s) => `${s.phase} ${s.i}: ${s.result.stderr.split('\n')[0] ?? ''}`);
    assert.deepEqual(failed, []);
  });
});
