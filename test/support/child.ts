import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot } from './repo-root.ts';

/** How a child process ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options of {@link spawnChild}. */
export interface SpawnChildOptions {
  /** Working directory (default: the repository root). */
  readonly cwd?: string;
  /** Extra environment variables, merged over this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Text written to the child's stdin, which is then closed (default: stdin closed at once). */
  readonly stdin?: string;
  /** Keep stdin open for {@link ChildHandle.write} (ignores `stdin`). */
  readonly openStdin?: boolean;
}

/** Options of {@link ChildHandle.waitForLine}. */
export interface WaitForLineOptions {
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Only consider lines at this index or later (default 0). */
  readonly fromIndex?: number;
}

/**
 * A spawned child process whose stdout is collected line by line and whose stderr is kept.
 * Disposal (`close()`, `await using`) kills it with SIGKILL if it still runs and waits until
 * it has exited; it is idempotent and never throws, so a failing assertion never leaks it.
 */
export interface ChildHandle extends AsyncDisposable {
  readonly pid: number;
  readonly process: ChildProcess;
  /** Every complete stdout line so far, without its newline. */
  readonly lines: readonly string[];
  /** Stdout text after the last newline (a line cut short, if the child died mid-write). */
  readonly partial: string;
  /** Everything the child wrote to stderr so far. */
  readonly stderr: string;
  /** Resolves once the child exited and its stdout and stderr are drained. Never rejects. */
  readonly exited: Promise<ChildExit>;
  /** True once the child has exited. */
  readonly done: boolean;
  /**
   * Resolves with the first stdout line (at `fromIndex` or later) that satisfies `predicate`.
   * Rejects when the child exits without printing one, or after `timeoutMs`.
   */
  waitForLine(predicate: (line: string) => boolean, options?: WaitForLineOptions): Promise<{ line: string; index: number }>;
  /** Writes to the child's stdin (spawned with `openStdin`); ignored once the child is gone. */
  write(text: string): void;
  /** Sends a signal if the child still runs. */
  kill(signal?: NodeJS.Signals): void;
  close(): Promise<void>;
}

/** Spawns `command args…` with piped stdio; see {@link ChildHandle}. */
export function spawnChild(command: string, args: readonly string[], options: SpawnChildOptions = {}): ChildHandle {
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`Cannot spawn "${command}"`);
  const pid = child.pid;
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  let stderr = '';
  let done = false;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    if (parts.length === 0) return;
    lines.push(...parts);
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.on('error', () => undefined);
  if (options.openStdin !== true) child.stdin.end(options.stdin ?? '');
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('close', (code, signal) => {
      done = true;
      for (const wake of waiters) wake();
      resolve({ code, signal });
    });
  });
  let closing: Promise<void> | null = null;
  const handle: ChildHandle = {
    pid,
    process: child,
    lines,
    get partial() {
      return partial;
    },
    get stderr() {
      return stderr;
    },
    get done() {
      return done;
    },
    exited,
    waitForLine(predicate, wait = {}) {
      const timeoutMs = wait.timeoutMs ?? 30_000;
      let next = wait.fromIndex ?? 0;
      return new Promise((resolve, reject) => {
        const check = (): void => {
          for (; next < lines.length; next++) {
            const line = lines[next] ?? '';
            if (predicate(line)) return finish(() => resolve({ line, index: next }));
          }
          if (done) finish(() => reject(new Error(`Child ${pid} exited without the awaited line; stderr: ${stderr.slice(-2000)}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`Child ${pid} printed no awaited line within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`))),
          timeoutMs,
        );
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    write(text) {
      if (!done && child.stdin.writable) child.stdin.write(text);
    },
    kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    close() {
      closing ??= (async () => {
        handle.kill('SIGKILL');
        await exited;
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return handle.close();
    },
  };
  return handle;
}

/**
 * A set of children disposed together: `close()` (or `await using`) kills every one still
 * running and waits for all of them. Idempotent; never throws.
 */
export interface ChildGroup extends AsyncDisposable {
  /** Adds a child to the group and returns it. */
  add(child: ChildHandle): ChildHandle;
  readonly children: readonly ChildHandle[];
  close(): Promise<void>;
}

/** Creates an empty {@link ChildGroup}. */
export function childGroup(): ChildGroup {
  const children: ChildHandle[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(children.map((c) => c.close()));
  };
  return {
    children,
    add(child) {
      children.push(child);
      return child;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
