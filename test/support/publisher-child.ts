// Test child (not part of the kernel): owns the home given as argv[2] through connectKernel
// (so it takes the real owner lock and opens the LMDB log itself) and writes under load until
// it is killed. Run as `node --import tsx test/support/publisher-child.ts <home> <run> [workers]`.
//
// It loads everything, prints `L`, then waits for a line on stdin before touching the home, so
// a test can start it early and release it at a chosen moment.
// Stdout protocol, one line per synchronous write (each far below PIPE_BUF, so atomic):
//   L                 loaded, waiting for a line on stdin
//   S                 about to open the home
//   R <mode>          the kernel is open ("local" when this process owns the home)
//   A <ack json>      a write whose promise resolved, i.e. it is durable (see publisher-acks.ts)
//   F <failure json>  a write that was refused (a test failure: nothing should be refused)
import { writeSync } from 'node:fs';
import type { NewEvent } from '../../kernel/events/index.ts';
import { isKernelError } from '../../kernel/errors/index.ts';
import { connectKernel, type KernelApi } from '../../kernel/service/index.ts';
import { allProjections } from '../../projections/index.ts';
import { CRASH_NAMESPACE, type Ack } from './publisher-acks.ts';

const [home, runArg, workersArg] = process.argv.slice(2);
if (home === undefined || runArg === undefined) throw new Error('usage: publisher-child.ts <home> <run> [workers]');
const run: string = runArg;
const workers = Number(workersArg ?? '48');

/** Writes a whole line with one write(2), retrying while a non-blocking pipe is full. */
function emit(line: string): void {
  const bytes = Buffer.from(`${line}\n`);
  for (;;) {
    try {
      const n = writeSync(1, bytes);
      if (n !== bytes.length) throw new Error(`short write of ${n} of ${bytes.length} bytes`);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

let counter = 0;
const rand = (n: number): number => Math.floor(Math.random() * n);
const tag = (): { run: string; n: number } => ({ run, n: counter++ });

async function publish(kernel: KernelApi, worker: number): Promise<Ack[]> {
  const subject = `crash.${run}.w${worker}`;
  const payloads = Array.from({ length: 1 + rand(3) }, () => ({ ...tag(), pad: 'x'.repeat(rand(200)) }));
  const receipts = await kernel.publish(payloads.map((payload) => ({ subject, payload })), { source: `user:crash-w${worker}` });
  return receipts.map((r, i) => ({ op: 'pub', seq: r.seq, subject, payload: payloads[i] ?? { run, n: -1, pad: '' } }));
}

async function write(kernel: KernelApi): Promise<Ack[]> {
  const roll = rand(10);
  const key = `k${rand(16)}`;
  if (roll < 6) {
    // One or two sets appended as one unit.
    const sets = Array.from({ length: 1 + rand(2) }, () => ({ key: `k${rand(16)}`, value: tag() }));
    const events: NewEvent[] = sets.map((s) => ({ type: 'kv.value.set', v: 1, source: 'user:crash', data: { namespace: CRASH_NAMESPACE, key: s.key, value: s.value } }));
    const stored = await kernel.append(events);
    return stored.map((e, i) => ({ op: 'set', seq: e.seq, key: sets[i]?.key ?? '', value: sets[i]?.value ?? { run, n: -1 } }));
  }
  if (roll < 8) {
    const t = tag();
    const [e] = await kernel.append([{ type: 'kv.value.deleted', v: 1, source: 'user:crash', data: { namespace: CRASH_NAMESPACE, key } }]);
    // The tag is not stored in a delete; it only makes the ack line unique.
    return e === undefined ? [] : [{ op: 'del', seq: e.seq, key, tag: t }];
  }
  const role = `role${rand(4)}`;
  const capsuleId = `c-${run}-${counter++}`;
  const [e] = await kernel.append([{ type: 'route.assigned', v: 1, source: 'user:crash', data: { role, capsuleId } }]);
  return e === undefined ? [] : [{ op: 'route', seq: e.seq, role, capsuleId }];
}

async function worker(kernel: KernelApi, index: number): Promise<void> {
  for (;;) {
    try {
      const acks = index % 2 === 0 ? await publish(kernel, index) : await write(kernel);
      for (const ack of acks) emit(`A ${JSON.stringify(ack)}`);
    } catch (error) {
      const code = isKernelError(error) ? error.code : 'UNEXPECTED';
      emit(`F ${JSON.stringify({ code, message: error instanceof Error ? error.message : String(error) })}`);
      return;
    }
  }
}

emit('L');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.destroy();
emit('S');
const kernel = await connectKernel(home, { parts: async () => ({ projections: allProjections }) });
emit(`R ${kernel.mode}`);
await Promise.all(Array.from({ length: workers }, (_, i) => worker(kernel, i)));
