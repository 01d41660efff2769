/**
 * Runs async work one at a time per key, in call order: each piece starts once the previous
 * one for its key has settled, whether it succeeded or failed. A key is forgotten as soon as
 * its queue drains, so memory follows the keys in use, not every key ever seen.
 */
export class KeyedSerial {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `work` after every earlier piece queued under `key`; settles as `work` does. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const next = (this.#tails.get(key) ?? Promise.resolve()).then(work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, settled);
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return next;
  }

  /** How many keys have work queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}
