import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration such as `10m`, `90s`, `2h`, `7d` or `500ms` into milliseconds.
 * Throws `INVALID_ARGUMENT` for anything else or a non-positive duration.
 */
export function parseTtl(text: string): number {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * (UNITS[match[2] as string] as number);
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new KernelError(ErrorCode.InvalidArgument, `Cannot use "${text}" as a duration: expected a number and a unit (ms, s, m, h, d)`);
  }
  return ms;
}
