// The worker half of the append bench's two-thread floor (not part of the kernel): the main
// thread sends each chunk's record prefixes (everything but the previous hash); this worker
// chains them, hashes and puts the records, then answers with their hashes once they are
// durable. It opens the same environment as the main thread, which lmdb-js shares within one
// process, and closes it when told to.
import { parentPort, workerData } from 'node:worker_threads';
import { open } from 'lmdb';
import { GENESIS_HASH } from '../kernel/events/index.ts';
import { RecordWriter } from '../kernel/log/record.ts';

/** One chunk: the first seq and the record prefixes of its events, joined by line breaks (a prefix holds none). */
export interface FloorChunk {
  readonly first: number;
  readonly prefixes: string;
}

/** What the worker sends: ready, a chunk's hashes (64 characters each, back to back), or closed. */
export type FromFloorWorker = { readonly kind: 'ready' } | { readonly kind: 'done'; readonly first: number; readonly hashes: string } | { readonly kind: 'closed' };

/** What the worker takes: a chunk, or the order to close its environment. */
export type ToFloorWorker = { readonly kind: 'chunk'; readonly chunk: FloorChunk } | { readonly kind: 'close' };

const { path } = workerData as { path: string };
const port = parentPort;
if (port !== null) {
  const root = open({ path, maxDbs: 64, compression: false });
  const db = root.openDB<string, number>('events', { encoding: 'string' });
  const writer = new RecordWriter();
  let prev = GENESIS_HASH;
  const send = (message: FromFloorWorker): void => port.postMessage(message);
  port.on('message', (message: ToFloorWorker) => {
    if (message.kind === 'close') {
      void root.close().then(() => send({ kind: 'closed' }));
      return;
    }
    const { first, prefixes } = message.chunk;
    const hashes: string[] = [];
    for (const [i, prefix] of prefixes.split('\n').entries()) {
      const record = writer.finish(prefix, prev);
      prev = writer.hash;
      hashes.push(prev);
      void db.put(first + i, record);
    }
    const joined = hashes.join('');
    void root.flushed.then(() => send({ kind: 'done', first, hashes: joined }));
  });
  send({ kind: 'ready' });
}
