// Replay of 1,000,000 events into kv + routes (EventLog.rebuild with allProjections) against a
// raw lmdb-js range scan of the same log that parses every event. One fill, reused.
import { join } from 'node:path';
import { open } from 'lmdb';
import { KernelError, ErrorCode } from '../kernel/errors/index.ts';
import { openEventLog } from '../kernel/log/index.ts';
import { allProjections } from '../projections/index.ts';
import { tempDir } from '../test/support/temp-dir.ts';
import { BENCH_ORIGIN, mixedEvent } from './events.ts';
import { median, note, nowMs, report, result } from './harness.ts';

const TOTAL = 1_000_000;
const CHUNK = 5_000; // events per append call while filling
const IN_FLIGHT = 8; // append calls in flight while filling
const RUNS = 2; // timed rebuilds, each between two raw scans

/** Fills the log with TOTAL mixed events, no projections registered, in big batches. */
async function fill(path: string): Promise<number> {
  await using log = await openEventLog({ path, create: { origin: BENCH_ORIGIN } });
  const t0 = nowMs();
  let next = 1;
  const pending = new Set<Promise<unknown>>();
  while (next <= TOTAL) {
    const size = Math.min(CHUNK, TOTAL - next + 1);
    const events = Array.from({ length: size }, (_, k) => mixedEvent(next + k));
    next += size;
    const p: Promise<unknown> = log.append(events).finally(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= IN_FLIGHT) await Promise.race(pending);
  }
  await Promise.all(pending);
  return (TOTAL / (nowMs() - t0)) * 1000;
}

/** Raw lmdb-js: the same environment and `events` DB, a range scan that parses each body. */
async function rawScan(path: string): Promise<number> {
  const root = open({ path, maxDbs: 64, compression: false });
  try {
    const events = root.openDB<string, number>('events', { encoding: 'string' });
    const t0 = nowMs();
    let n = 0;
    for (const { value } of events.getRange({ start: 1 })) {
      if ((JSON.parse(value.slice(64)) as { seq: number }).seq > 0) n++;
    }
    const rate = (n / (nowMs() - t0)) * 1000;
    if (n !== TOTAL) throw new KernelError(ErrorCode.Internal, `Cannot trust the raw scan as it read ${n} events of ${TOTAL}`);
    return rate;
  } finally {
    await root.close();
  }
}

/** Opens the log with every projection (catching up if needed) and times one full rebuild. */
async function rebuild(path: string): Promise<{ rate: number; openRate: number | null }> {
  const t0 = nowMs();
  await using log = await openEventLog({ path, projections: allProjections });
  const opened = nowMs() - t0;
  const t1 = nowMs();
  await log.rebuild();
  const rate = (TOTAL / (nowMs() - t1)) * 1000;
  for (const name of log.projectionNames()) {
    const cp = log.projectionStatus(name).checkpoint;
    if (cp !== TOTAL) throw new KernelError(ErrorCode.Internal, `Cannot trust the rebuild as "${name}" stopped at seq ${cp}`);
  }
  // The first open catches every projection up from zero: a replay in itself.
  return { rate, openRate: opened > 1_000 ? (TOTAL / opened) * 1000 : null };
}

await using dir = await tempDir('astrid-bench-');
const path = join(dir.path, 'log.mdb');
note(`filling ${TOTAL} events…`);
const fillRate = await fill(path);
note(`filled at ${Math.round(fillRate)} events/s`);

const raws: number[] = [await rawScan(path)];
const rebuilds: number[] = [];
let catchUp: number | null = null;
for (let r = 0; r < RUNS; r++) {
  const out = await rebuild(path);
  rebuilds.push(out.rate);
  catchUp ??= out.openRate;
  raws.push(await rawScan(path));
  note(`run ${r + 1}/${RUNS}: rebuild ${Math.round(out.rate)} events/s, raw scan ${Math.round(raws.at(-1) ?? 0)} events/s`);
}

const raw = median(raws);
report(
  result('replay.rebuild.1m', median(rebuilds), 'events/s', raw, {
    target: { of: 'ratio', op: '>=', bound: 0.5 },
    note: 'EventLog.rebuild() of kv + routes over 1M events; baseline: raw getRange scan + JSON.parse of each event',
  }),
);
if (catchUp !== null) {
  report(result('replay.open-catch-up.1m', catchUp, 'events/s', raw, { note: 'first open with projections registered catches them up from zero' }));
}
report(result('replay.fill.1m', fillRate, 'events/s', null, { note: `EventLog.append of ${CHUNK}-event batches, ${IN_FLIGHT} in flight, no projections` }));
