/**
 * Capsule-to-capsule request/response through the durable bus. The first-party `client`
 * capsule drives `counter` to a target: each round is one `counter.increment` request and
 * one `counter.value` answer, each a durable `bus.message.published` event delivered to the
 * other capsule's handler in log order, with the handler's effects and its delivery record
 * committed in one append. Both capsules are built from source, installed as archives and
 * run by a kernel that owns a temporary home, exactly as `astrid run` does.
 *
 * Figures: messages per second over the whole conversation, and the p50/p99 latency from a
 * request's delivery to this process's subscriber to its answer's. There is no raw-library
 * equivalent of a capsule round trip, so the rate's baseline is a durable publish → deliver
 * ping-pong between two plain in-process subscribers on the same kernel (no capsules): the
 * ratio is the share of bus capacity the capsule path keeps.
 *
 * Run: node --import tsx bench/capsule-bus.bench.ts
 */
import { join } from 'node:path';
import { kernelParts } from '../commands/_support/parts.ts';
import { bootOwner, type Owner } from '../kernel/boot.ts';
import { ErrorCode, KernelError } from '../kernel/errors/index.ts';
import { createHomeMarker } from '../kernel/home/index.ts';
import { waitForOwnerLock } from '../kernel/ipc/index.ts';
import { buildAndInstall } from '../test/support/capsule-install.ts';
import { tempDir } from '../test/support/temp-dir.ts';
import { median, note, nowMs, percentile, report, result } from './harness.ts';

const ROUNDS = 2000;
const WARMUP = 100;
const SOURCE = 'user:bench';
const repo = new URL('..', import.meta.url).pathname;

/** Boots an owner of `home` in this process; `deliver` runs capsule handlers like `astrid run`. */
async function own(home: string, deliver: boolean): Promise<Owner> {
  const lock = await waitForOwnerLock(home, { role: 'daemon', signal: AbortSignal.timeout(15_000) });
  return bootOwner({ home, role: 'daemon', lock, ...kernelParts, serve: false, deliver });
}

interface Timed {
  readonly at: number;
  readonly seq: number;
  readonly request: number | null;
}

/** Follows `pattern` from `from`, stamping each message's arrival, until `count` arrived. */
async function collect(owner: Owner, pattern: string, from: number, count: number, signal: AbortSignal): Promise<Timed[]> {
  const out: Timed[] = [];
  for await (const m of owner.kernel.subscribe(pattern, { from, signal })) {
    const payload = m.payload as { request?: unknown } | null;
    out.push({ at: nowMs(), seq: m.seq, request: typeof payload?.request === 'number' ? payload.request : null });
    if (out.length >= count) break;
  }
  return out;
}

/** Two plain subscribers playing the same ping-pong on the kernel's durable bus. */
async function plainPingPong(owner: Owner, rounds: number): Promise<number> {
  const stop = new AbortController();
  const from = owner.log.head().seq + 1;
  const answerer = (async () => {
    let n = 0;
    for await (const m of owner.kernel.subscribe('pp.request', { from, signal: stop.signal })) {
      await owner.kernel.publish([{ subject: 'pp.value', payload: { value: ++n, request: m.seq } }], { source: SOURCE });
      if (n >= rounds) return;
    }
  })();
  const t0 = nowMs();
  await owner.kernel.publish([{ subject: 'pp.request', payload: { by: 1 } }], { source: SOURCE });
  let seen = 0;
  for await (const _ of owner.kernel.subscribe('pp.value', { from, signal: stop.signal })) {
    if (++seen >= rounds) break;
    await owner.kernel.publish([{ subject: 'pp.request', payload: { by: 1 } }], { source: SOURCE });
  }
  const elapsed = nowMs() - t0;
  stop.abort();
  await answerer.catch(() => undefined);
  return (2 * rounds) / (elapsed / 1000);
}

await using scratch = await tempDir('astrid-bench-capsule-bus-');
const home = join(scratch.path, 'home');
await createHomeMarker(home);
{
  await using installer = await own(home, false);
  for (const id of ['counter', 'client']) await buildAndInstall(installer.kernel, join(repo, 'capsules', id), scratch.path, SOURCE);
}

await using owner = await own(home, true);
const from = owner.log.head().seq + 1;
const stop = new AbortController();
const requests = collect(owner, 'counter.increment', from, ROUNDS, stop.signal);
const answers = collect(owner, 'counter.value', from, ROUNDS, stop.signal);
const t0 = nowMs();
await owner.kernel.publish([{ subject: 'client.start', payload: { target: ROUNDS } }], { source: SOURCE });
const [sent, answered] = await Promise.all([requests, answers]);
const elapsed = (answered[answered.length - 1]?.at ?? Number.NaN) - t0;
stop.abort();

const sentAt = new Map(sent.map((r) => [r.seq, r.at]));
const latencies = answered.slice(WARMUP).map((a) => a.at - (sentAt.get(a.request ?? -1) ?? Number.NaN));
if (latencies.some((l) => !Number.isFinite(l))) throw new KernelError(ErrorCode.Internal, 'Cannot time the round trips as an answer names a request this bench did not see');
const rate = (2 * ROUNDS) / (elapsed / 1000);
const plain = await plainPingPong(owner, ROUNDS);
note(`${ROUNDS} rounds in ${elapsed.toFixed(0)} ms; plain ping-pong ${plain.toFixed(0)} msgs/s`);

report(result('capsule.bus.request-response', rate, 'msgs/s', plain, { note: `counter ⇄ client, ${ROUNDS} durable rounds; baseline: two plain subscribers ping-ponging on the same durable bus` }));
report(result('capsule.bus.round-trip.p50', median(latencies), 'ms', null, { note: 'request delivered → answer delivered, one capsule handler call between' }));
report(result('capsule.bus.round-trip.p99', percentile(latencies, 99), 'ms', null, { note: 'request delivered → answer delivered, one capsule handler call between' }));
