import type { LogLevel } from '../logger/index.ts';

const levels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** The log level from `ASTRID_LOG` (default `fallback`); unknown values fall back. */
export function resolveLogLevel(fallback: LogLevel): LogLevel {
  const fromEnv = process.env['ASTRID_LOG'];
  return levels.find((l) => l === fromEnv) ?? fallback;
}
