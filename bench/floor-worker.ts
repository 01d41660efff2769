// The worker half of the append bench's worker floor (not part of the kernel): it builds,
// hashes and puts the records of each chunk the main thread sends, then answers with their
// hashes once they are durable. It opens the same environment as the main thread, which
// lmdb-js shares within one process.
import { parentPort, workerData } from 'node:worker_threads';
import { open } from 'lmdb';
import { GENESIS_HASH } from '../kernel/events/index.ts';
import { RecordWriter } from '../kernel/log/record.ts';

/** One chunk of events, all of one type and source: subjects and data texts joined by newlines. */
export interface FloorChunk {
  readonly first: number;
  readonly ts: number;
  readonly type: string;
  readonly v: number;
  readonly source: string;
  /** Valid subjects hold no whitespace and JSON text no raw newline, so a newline separates them. */
  readonly subjects: string;
  readonly data: string;
}

/** The answer to a chunk: its first seq and the 64-character hashes of its events, back to back. */
export interface FloorDone {
  readonly first: number;
  readonly hashes: string;
}

const { path, origin } = workerData as { path: string; origin: string };
const port = parentPort;
if (port !== null) {
  const root = open({ path, maxDbs: 64, compression: false });
  const db = root.openDB<string, number>('events', { encoding: 'string' });
  const writer = new RecordWriter();
  let prev = GENESIS_HASH;
  port.on('message', (chunk: FloorChunk) => {
    const subjects = chunk.subjects.split('\n');
    const data = chunk.data.split('\n');
    const hashes: string[] = [];
    for (const [i, dataJson] of data.entries()) {
      const seq = chunk.first + i;
      const record = writer.write({ seq, origin, ts: chunk.ts, type: chunk.type, v: chunk.v, source: chunk.source, subject: subjects[i], dataJson, prev });
      prev = writer.hash;
      hashes.push(prev);
      void db.put(seq, record);
    }
    const done: FloorDone = { first: chunk.first, hashes: hashes.join('') };
    void root.flushed.then(() => port.postMessage(done));
  });
  port.postMessage('ready');
}
