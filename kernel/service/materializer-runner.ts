import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventLog } from '../log/index.ts';
import type { Logger } from '../logger/index.ts';
import type { Materializer } from '../projection/index.ts';

interface Job {
  readonly def: Materializer;
  running: Promise<void> | null;
  dirty: boolean;
}

/**
 * Runs the materializers of the owner: once at start, after each durable batch holding an
 * event its projection reads, and after each replay. Runs of one materializer never overlap;
 * a request during a run causes exactly one more run. Failures are logged, not thrown: the
 * log stays the truth and the next sync retries.
 */
export class MaterializerRunner {
  readonly #log: EventLog;
  readonly #home: string;
  readonly #logger: Logger;
  readonly #jobs: Job[];
  readonly #off: Array<() => void> = [];
  #closed = false;

  constructor(log: EventLog, materializers: readonly Materializer[], options: { home: string; logger: Logger }) {
    this.#log = log;
    this.#home = options.home;
    this.#logger = options.logger;
    this.#jobs = materializers.map((def) => ({ def, running: null, dirty: false }));
  }

  /** Syncs everything once, then follows the log. */
  async start(): Promise<void> {
    this.#off.push(
      this.#log.onAppended((last, types) => {
        if (last < 0) return;
        for (const job of this.#jobs) {
          const reads = this.#log.projectionTypes(job.def.projection);
          if ([...types].some((t) => reads.has(t))) this.#schedule(job);
        }
      }),
      this.#log.onRebuilt(() => this.#jobs.forEach((job) => this.#schedule(job))),
    );
    this.#jobs.forEach((job) => this.#schedule(job));
    await this.idle();
  }

  /** Resolves once no sync is running or requested. */
  async idle(): Promise<void> {
    while (true) {
      const running = this.#jobs.map((j) => j.running).filter((p): p is Promise<void> => p !== null);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Stops following and waits for running syncs. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const off of this.#off.splice(0)) off();
    await this.idle();
  }

  #schedule(job: Job): void {
    if (this.#closed) return;
    if (job.running !== null) {
      job.dirty = true;
      return;
    }
    job.running = (async () => {
      do {
        job.dirty = false;
        const dir = join(this.#home, job.def.directory);
        try {
          await mkdir(dir, { recursive: true, mode: 0o700 });
          await job.def.sync(this.#log.projection(job.def.projection), {
            dir,
            blob: (digest) => this.#log.getBlob(digest),
            logger: this.#logger.child(job.def.name),
          });
        } catch (error) {
          this.#logger.error('materializer failed', { materializer: job.def.name, message: String(error) });
        }
      } while (job.dirty && !this.#closed);
      job.running = null;
    })();
  }
}
