/** What a stream iterator needs from its connection. Internal to the client. */
export interface StreamHost {
  /** Sends the request frame; throws (e.g. PAYLOAD_TOO_LARGE, CONNECTION_LOST) if it cannot. */
  start(stream: ClientStream): void;
  /** Tells the server to stop and forgets the stream. */
  cancel(stream: ClientStream): void;
  /** Called when the stream's buffer crosses its high-water mark (`true`) or falls back (`false`). */
  overfull(stream: ClientStream, overfull: boolean): void;
}

type Waiter = { resolve: (result: IteratorResult<unknown>) => void; reject: (error: unknown) => void };

/**
 * One stream request seen as an async iterator: items are queued as frames arrive; past
 * `highWaterMark` queued items the connection stops reading (backpressure reaches the server).
 */
export class ClientStream implements AsyncIterableIterator<unknown> {
  id = 0;
  readonly #host: StreamHost;
  readonly #highWaterMark: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#abort();
  #queue: unknown[] = [];
  #head = 0;
  #started = false;
  #finished = false;
  #failure: { error: unknown } | null = null;
  #waiter: Waiter | null = null;
  #overfull = false;

  constructor(host: StreamHost, highWaterMark: number, signal: AbortSignal | undefined) {
    this.#host = host;
    this.#highWaterMark = highWaterMark;
    this.#signal = signal;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<unknown>> {
    if (!this.#started) {
      this.#started = true;
      try {
        this.#signal?.throwIfAborted();
        this.#host.start(this);
      } catch (error) {
        this.#finished = true;
        return Promise.reject(error);
      }
      this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    }
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      this.#setOverfull(this.#queue.length - this.#head > this.#highWaterMark / 2 && this.#overfull);
      return Promise.resolve({ value, done: false });
    }
    if (this.#failure !== null) {
      const { error } = this.#failure;
      this.#failure = null;
      return Promise.reject(error);
    }
    if (this.#finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Called by `break` in a for-await loop: cancels the request if it is still running. */
  return(): Promise<IteratorResult<unknown>> {
    if (this.#started && !this.#finished) {
      this.#finish();
      this.#host.cancel(this);
    }
    this.#finished = true;
    this.#queue = [];
    this.#head = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Queues an item from the server. */
  push(value: unknown): void {
    if (this.#finished) return;
    if (this.#waiter !== null) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter.resolve({ value, done: false });
      return;
    }
    this.#queue.push(value);
    if (this.#queue.length - this.#head > this.#highWaterMark) this.#setOverfull(true);
  }

  /** The server ended the stream. */
  end(): void {
    if (this.#finished) return;
    this.#finish();
    this.#waiter?.resolve({ value: undefined, done: true });
    this.#waiter = null;
  }

  /** The stream failed: queued items are still delivered, then `error` is thrown once. */
  fail(error: unknown): void {
    if (this.#finished) return;
    this.#finish();
    if (this.#waiter !== null) {
      this.#waiter.reject(error);
      this.#waiter = null;
    } else {
      this.#failure = { error };
    }
  }

  #abort(): void {
    if (this.#finished) return;
    this.#host.cancel(this);
    this.#queue = [];
    this.#head = 0;
    this.fail(this.#signal?.reason);
  }

  #finish(): void {
    this.#finished = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#setOverfull(false);
  }

  #setOverfull(overfull: boolean): void {
    if (overfull === this.#overfull) return;
    this.#overfull = overfull;
    this.#host.overfull(this, overfull);
  }
}
