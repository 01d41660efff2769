// Bus publish → deliver, durable: one pipelined publisher and one subscriber in the same
// process, against a raw in-memory EventEmitter carrying the same messages.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { Bus, QuotaTracker } from '../kernel/bus/index.ts';
import { openEventLog, type EventLog } from '../kernel/log/index.ts';
import { allProjections } from '../projections/index.ts';
import { tempDir } from '../test/support/temp-dir.ts';
import { BENCH_ORIGIN, BENCH_SOURCE, payload } from './events.ts';
import { median, note, nowMs, percentile, report, result } from './harness.ts';

const N = 50_000; // messages per run
const WINDOW = 1_000; // publishes in flight at once
const RUNS = 3;
const SUBJECT = 'agent.v1.tool';

interface Run {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
}

/** Latencies and rate from per-message send and delivery times. */
function summarize(sent: Float64Array, seen: Float64Array, t0: number, t1: number): Run {
  const lat = Array.from(seen, (t, i) => t - (sent[i] ?? 0));
  return { rate: (sent.length / (t1 - t0)) * 1000, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** One durable run: publishes N messages through `bus`, `WINDOW` in flight, until all are delivered. */
async function runBus(log: EventLog, bus: Bus): Promise<Run> {
  const sent = new Float64Array(N);
  const seen = new Float64Array(N);
  const first = log.head().seq + 1;
  const stop = new AbortController();
  let delivered = 0;
  let t1 = 0;
  const consumer = (async () => {
    for await (const m of bus.subscribe('agent.>', { from: first, signal: stop.signal, source: BENCH_SOURCE })) {
      seen[(m.payload as { n: number }).n] = nowMs();
      if (++delivered === N) {
        t1 = nowMs();
        stop.abort();
      }
    }
  })();
  const t0 = nowMs();
  await new Promise<void>((resolve, reject) => {
    let next = 0;
    let inFlight = 0;
    const pump = (): void => {
      while (inFlight < WINDOW && next < N) {
        const i = next++;
        inFlight++;
        sent[i] = nowMs();
        bus.publish([{ subject: SUBJECT, payload: payload(i) }], { source: BENCH_SOURCE }).then(() => {
          inFlight--;
          if (next < N) pump();
          else if (inFlight === 0) resolve();
        }, reject);
      }
    };
    pump();
  });
  await consumer;
  return summarize(sent, seen, t0, t1);
}

/** The same messages through an EventEmitter with one listener: the in-memory ceiling. */
function runEmitter(): Run {
  const sent = new Float64Array(N);
  const seen = new Float64Array(N);
  const ee = new EventEmitter();
  ee.on('message', (m: { subject: string; payload: { n: number } }) => {
    seen[m.payload.n] = nowMs();
  });
  const t0 = nowMs();
  for (let i = 0; i < N; i++) {
    sent[i] = nowMs();
    ee.emit('message', { subject: SUBJECT, payload: payload(i) });
  }
  return summarize(sent, seen, t0, nowMs());
}

await using dir = await tempDir('astrid-bench-');
await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: BENCH_ORIGIN }, projections: allProjections });
// The kernel's default quota (20,000 msgs/s per publisher) would refuse a load test: lift it.
const quotas = new QuotaTracker({ policy: { messagesPerSecond: 1e9, messagesBurst: 1e9, bytesPerSecond: 2 ** 40, bytesBurst: 2 ** 40 } });
const bus = new Bus(log, { quotas });

runEmitter(); // warm-up
const busRuns: Run[] = [];
const eeRuns: Run[] = [];
for (let r = 0; r < RUNS; r++) {
  busRuns.push(await runBus(log, bus));
  eeRuns.push(runEmitter());
  const b = busRuns.at(-1);
  note(`run ${r + 1}/${RUNS}: bus ${Math.round(b?.rate ?? 0)} msgs/s p50 ${b?.p50.toFixed(2)} ms p99 ${b?.p99.toFixed(2)} ms`);
}

const rate = median(busRuns.map((r) => r.rate));
const eeRate = median(eeRuns.map((r) => r.rate));
report(
  result('bus.publish-deliver.durable', rate, 'msgs/s', eeRate, {
    target: { of: 'value', op: '>=', bound: 50_000 },
    note: `one publisher (${WINDOW} in flight), one Bus.subscribe, durable; baseline: in-memory EventEmitter`,
  }),
);
report(result('bus.publish-deliver.p50', median(busRuns.map((r) => r.p50)), 'ms', null, { note: 'publish call to delivery' }));
report(
  result('bus.publish-deliver.p99', median(busRuns.map((r) => r.p99)), 'ms', median(eeRuns.map((r) => r.p99)), {
    note: 'publish call to delivery; baseline: EventEmitter p99',
  }),
);
