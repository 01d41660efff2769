/** Log levels, most verbose first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Structured fields of a log line: codes, seqs, subjects, ids. Never tokens or contents. */
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** The logger the kernel is given. Kernel code never calls `console`. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines carry `component`. */
  child(component: string): Logger;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** A logger that drops everything: the default in tests. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/**
 * A logger writing one JSON object per line to `write` (stderr by default), so stdout stays
 * free for command output.
 */
export function jsonLogger(
  level: LogLevel,
  options: { component?: string; write?: (line: string) => void } = {},
): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const component = options.component;
  const emit = (at: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void => {
    if (rank[at] < rank[level]) return;
    const line = { ts: new Date().toISOString(), level: at, component, message, ...fields };
    write(`${JSON.stringify(line)}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (name) =>
      jsonLogger(level, { component: component === undefined ? name : `${component}.${name}`, write }),
  };
}
