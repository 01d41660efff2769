/** A progress bar on stderr, or nothing when it should stay quiet. */
export interface Progress {
  update(done: number, total: number): void;
  finish(): void;
}

/**
 * A progress bar drawn on stderr when it is a terminal and `quiet` is false (`--json`, or
 * output piped); otherwise a no-op, so machine output stays clean.
 */
export function progressBar(label: string, options: { quiet: boolean }): Progress {
  const stream = process.stderr;
  if (options.quiet || !stream.isTTY) return { update() {}, finish() {} };
  let drawn = false;
  let last = 0;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 50 && done < total) return;
      last = now;
      const width = 30;
      const ratio = total <= 0 ? 1 : Math.min(1, done / total);
      const filled = Math.round(ratio * width);
      stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\n');
    },
  };
}
