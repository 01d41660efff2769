import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnChild, type ChildExit, type ChildHandle } from './child.ts';
import { repoRoot } from './repo-root.ts';

/** The `astrid` executable (it loads the compiled commands from `dist/commands`). */
export const cliBin: string = join(repoRoot, 'commands', 'astrid.js');

/** The outcome of one finished CLI run. */
export interface CliResult extends ChildExit {
  readonly args: readonly string[];
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runCli} and {@link spawnCli}. */
export interface CliOptions {
  /** Text for the command's stdin (e.g. with `bus publish --stdin`). */
  readonly stdin?: string;
  /** Leave out `--json` (default: it is appended). */
  readonly human?: boolean;
  /** Kill the command with SIGKILL after this long (default 60 s); the result then has signal SIGKILL. */
  readonly timeoutMs?: number;
}

/**
 * Throws unless the CLI has been compiled (`npm run build` writes `dist/commands`), so a
 * missing build reads as one clear failure instead of a confusing oclif error.
 */
export function assertCliBuilt(): void {
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'init.js'))) {
    throw new Error('The CLI is not built: run `npm run build` before the integration tests');
  }
}

/** The argv for `astrid <args> --home <home> [--json]`. */
export function cliArgs(home: string, args: readonly string[], options: CliOptions = {}): string[] {
  return [cliBin, ...args, '--home', home, ...(options.human === true ? [] : ['--json'])];
}

/**
 * Starts `astrid <args> --home <home> --json` and returns its handle without waiting
 * (for streams such as `bus subscribe`). Dispose it to kill it.
 */
export function spawnCli(home: string, args: readonly string[], options: CliOptions = {}): ChildHandle {
  return spawnChild(process.execPath, cliArgs(home, args, options), {
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    env: { ASTRID_LOG: 'warn' },
  });
}

/** Runs `astrid <args> --home <home> --json` to completion. Never throws on a non-zero exit. */
export async function runCli(home: string, args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  await using child = spawnCli(home, args, options);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  try {
    const exit = await child.exited;
    const stdout = child.lines.join('\n') + (child.partial === '' ? '' : `\n${child.partial}`);
    return { ...exit, args, stdout, stderr: child.stderr };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a command that must succeed and parses its `--json` document.
 * @throws Error with the command's stderr when it exits non-zero or prints no JSON
 */
export async function runCliJson<T>(home: string, args: readonly string[], options: CliOptions = {}): Promise<T> {
  const result = await runCli(home, args, options);
  if (result.code !== 0) {
    throw new Error(`astrid ${args.join(' ')} exited ${result.code ?? result.signal}: ${result.stderr.trim()}`);
  }
  return parseJson<T>(result);
}

/** Parses the `--json` document a command printed. @throws Error naming the command */
export function parseJson<T>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`astrid ${result.args.join(' ')} printed no JSON document: ${JSON.stringify(result.stdout.slice(0, 500))}`);
  }
}

/** A daemon started by a test; disposing it stops it (and kills it if it will not stop). */
export interface TestDaemon extends AsyncDisposable {
  readonly pid: number;
  /** `astrid daemon stop`, then SIGKILL if the process still runs. Idempotent; never throws. */
  stop(): Promise<void>;
}

/**
 * Runs `astrid daemon start` on `home` and returns a handle that stops it on dispose, so a
 * failing test never leaves a daemon behind.
 * @throws Error when the daemon does not start
 */
export async function startDaemon(home: string): Promise<TestDaemon> {
  let started: { pid: number; alreadyRunning: boolean };
  try {
    started = await runCliJson<{ pid: number; alreadyRunning: boolean }>(home, ['daemon', 'start']);
  } catch (error) {
    // `daemon start` may give up while the daemon it spawned still waits for the home.
    const log = await readFile(join(home, 'run', 'daemon.log'), 'utf8').catch(() => '');
    const reaped = await reapHome(home);
    throw new Error(`${String(error)}\nreaped ${reaped.length} stray processes; daemon.log: ${log.slice(-1500)}`);
  }
  if (started.alreadyRunning) throw new Error(`A daemon already ran on ${home} as pid ${started.pid}`);
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await runCli(home, ['daemon', 'stop'], { timeoutMs: 30_000 }).catch(() => undefined);
      // Kill it only if that pid is still this home's daemon (never a reused pid).
      const cmdline = await readFile(`/proc/${started.pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(home)) process.kill(started.pid, 'SIGKILL');
    })();
    return stopping;
  };
  return { pid: started.pid, stop, [Symbol.asyncDispose]: stop };
}

/**
 * Kills (SIGKILL) every process whose command line names `home`: daemons a test started
 * through `daemon start` are not its children, so this is how a failing test still cleans
 * them up. Returns the pids killed.
 */
export async function reapHome(home: string): Promise<number[]> {
  const killed: number[] = [];
  for (const name of await readdir('/proc')) {
    const pid = Number(name);
    if (!Number.isSafeInteger(pid) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.split('\0').includes(home)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // It exited meanwhile.
    }
  }
  return killed;
}

/** An AsyncDisposable that reaps the processes of `home` (see {@link reapHome}) on dispose. */
export function homeReaper(home: string): AsyncDisposable {
  return { [Symbol.asyncDispose]: async () => void (await reapHome(home)) };
}
