import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { workerEntry } from './worker-entry.ts';

test('workerEntry starts a compiled module as it is', () => {
  const module = new URL('file:///opt/astrid/dist/capsule-worker.js');
  assert.deepEqual(workerEntry(module), { entry: module, eval: false });
});

test('workerEntry starts a TypeScript module through tsx, and the worker runs it', async () => {
  const module = new URL('./worker-entry.ts', import.meta.url);
  const { entry, eval: isEval } = workerEntry(module);
  assert.equal(isEval, true);
  assert.match(String(entry), /tsx/);
  assert.ok(String(entry).includes(module.href));
  // Loading the module itself in a worker proves the bootstrap registers tsx before importing.
  const worker = new Worker(entry, { eval: isEval });
  const code = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
  assert.equal(code, 0);
});
