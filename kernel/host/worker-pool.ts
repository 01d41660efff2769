import { Worker } from 'node:worker_threads';
import { ErrorCode, KernelError } from '../errors/index.ts';
import { workerEntry } from '../concurrency/index.ts';
import type { FromWorker } from './protocol.ts';

/** Limits of each worker's own V8 heap (wasm memory is capped separately, per module). */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 } as const;

/** The capsule worker module next to this one: `.ts` when running from sources, else `.js`. */
const WORKER_MODULE = new URL(`./capsule-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

/** Starts a capsule worker and resolves once it has loaded Extism and is idle. */
export function bootWorker(): Promise<Worker> {
  const { entry, eval: isEval } = workerEntry(WORKER_MODULE);
  const worker = new Worker(entry, {
    eval: isEval,
    execArgv: ['--disable-warning=ExperimentalWarning'],
    resourceLimits: RESOURCE_LIMITS,
  });
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (msg: FromWorker): void => {
      if (msg.type !== 'booted') return;
      cleanup();
      resolve(worker);
    };
    const onError = (error: Error): void => {
      cleanup();
      void worker.terminate();
      reject(new KernelError(ErrorCode.Internal, `Cannot start a capsule worker: ${error.message}`, { cause: error }));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new KernelError(ErrorCode.Internal, `Cannot start a capsule worker as it exited with code ${code}`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/**
 * Keeps `spares` booted, idle workers so that loading or recycling an instance does not pay
 * for a thread start. `take()` does not boot the replacement itself: the caller calls
 * `replenish()` once its instance has started, so that a thread boot (hundreds of
 * milliseconds of CPU) never competes with the start it is meant to speed up. Idle spares do
 * not keep the process alive (`unref`). `close()` is idempotent and terminates every spare,
 * including ones still booting.
 */
export class WorkerPool implements AsyncDisposable {
  readonly #spares: Promise<Worker>[] = [];
  readonly #size: number;
  #closed = false;

  constructor(spares: number) {
    this.#size = Math.max(0, Math.floor(spares));
    this.#refill();
  }

  /**
   * A booted worker, referenced again (it keeps the process alive until terminated): a spare
   * when one is left, else a fresh boot. Call `replenish()` once it serves its instance.
   */
  async take(): Promise<Worker> {
    if (this.#closed) throw new KernelError(ErrorCode.CapsuleClosed, 'Cannot start a capsule as the host is closed');
    const worker = await (this.#spares.shift() ?? bootWorker());
    worker.ref();
    return worker;
  }

  /** Starts booting spares until `spares` are booted or booting again. */
  replenish(): void {
    this.#refill();
  }

  /** Resolves once every spare has booted (failed boots are ignored). */
  async ready(): Promise<void> {
    await Promise.all(this.#spares.map((p) => p.catch(() => undefined)));
  }

  #refill(): void {
    while (!this.#closed && this.#spares.length < this.#size) {
      const spare = bootWorker().then((w) => {
        w.unref();
        return w;
      });
      spare.catch(() => undefined);
      this.#spares.push(spare);
    }
  }

  /** Terminates every spare. */
  async close(): Promise<void> {
    this.#closed = true;
    const spares = this.#spares.splice(0);
    await Promise.all(spares.map((p) => p.then((w) => w.terminate()).catch(() => undefined)));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
