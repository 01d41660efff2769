import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root, with a trailing separator. */
export const repoDir: string = fileURLToPath(new URL('../../', import.meta.url));
/** The `astrid` executable; it loads the compiled commands from `dist/commands`. */
export const astridBin: string = fileURLToPath(new URL('../../commands/astrid.js', import.meta.url));

/** What one finished `astrid` run left behind. */
export interface CliRun {
  readonly args: readonly string[];
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link astrid}. */
export interface CliOptions {
  /** The home (`--home`); omitted when undefined. */
  readonly home?: string;
  /** Append `--json` (default true). */
  readonly json?: boolean;
  /** Text written to the command's standard input, which is then closed. */
  readonly stdin?: string;
  /** SIGKILL the command after this long (default 60 s); the run then has signal SIGKILL. */
  readonly timeoutMs?: number;
}

/**
 * Throws unless the CLI is compiled (`npm run build` writes `dist/commands`), so a missing
 * build reads as one clear failure rather than a confusing oclif error.
 */
export function assertBuilt(): void {
  if (!existsSync(fileURLToPath(new URL('../../dist/commands/init.js', import.meta.url)))) {
    throw new Error('The CLI is not built: run `npm run build` before the e2e tests');
  }
}

/** The environment for a spawned CLI: no inherited home, quiet logs. */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ASTRID_LOG: 'warn' };
  delete env['ASTRID_HOME'];
  return env;
}

/** The argv of `astrid <args> [--home H] [--json]`. */
function argvOf(args: readonly string[], options: CliOptions): string[] {
  return [astridBin, ...args, ...(options.home === undefined ? [] : ['--home', options.home]), ...(options.json === false ? [] : ['--json'])];
}

/** Collects a child's output until it exits; kills it with SIGKILL after `timeoutMs`. */
function collect(child: ChildProcess, args: readonly string[], timeoutMs: number): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ args, code, signal, stdout, stderr });
    });
  });
}

/**
 * Runs `astrid <args> --home H` (no --json) and returns the SHA-256 of its raw stdout, its
 * byte count and its exit, without holding the output: for commands that print large binary data.
 */
export function astridDigest(args: readonly string[], options: CliOptions = {}): Promise<{ code: number | null; stderr: string; sha256: string; bytes: number }> {
  const child = spawn(process.execPath, argvOf(args, { ...options, json: false }), { cwd: repoDir, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const hash = createHash('sha256');
  let bytes = 0;
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    bytes += chunk.byteLength;
    hash.update(chunk);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, sha256: hash.digest('hex'), bytes });
    });
  });
}

/** Runs `astrid <args> --home H --json` to completion. Never throws on a non-zero exit. */
export function astrid(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const child = spawn(process.execPath, argvOf(args, options), { cwd: repoDir, env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => {}); // a command that exits early closes its stdin under us
  child.stdin?.end(options.stdin ?? '');
  return collect(child, args, options.timeoutMs ?? 60_000);
}

/** A CLI process left running (a follower such as `log tail`), ended on dispose by its pid. */
export interface RunningCli extends AsyncDisposable {
  readonly pid: number;
  /** Resolves when it exits by itself. */
  readonly done: Promise<CliRun>;
}

/** Starts `astrid <args> --home H --json` without waiting for it. Dispose to SIGKILL it if still running. */
export function startAstrid(args: readonly string[], options: CliOptions = {}): RunningCli {
  const child = spawn(process.execPath, argvOf(args, options), { cwd: repoDir, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const done = collect(child, args, options.timeoutMs ?? 60_000);
  const pid = child.pid ?? -1;
  return {
    pid,
    done,
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await done.catch(() => undefined);
    },
  };
}

function describeRun(run: CliRun): string {
  return `astrid ${run.args.join(' ')} exited ${run.code ?? run.signal}\nstdout: ${run.stdout.slice(0, 2000)}\nstderr: ${run.stderr.slice(0, 2000)}`;
}

/** Asserts the run exited 0 and returns its parsed `--json` document. */
export function okJson<T>(run: CliRun): T {
  assert.equal(run.code, 0, describeRun(run));
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    assert.fail(`stdout is not one JSON document: ${describeRun(run)}`);
  }
}

/** Asserts the run exited 0 and returns its NDJSON lines, parsed. */
export function okNdjson<T>(run: CliRun): T[] {
  assert.equal(run.code, 0, describeRun(run));
  return run.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);
}

/** The `--json` error document a failing command prints on stdout. */
export interface CliError {
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
  readonly hint: string;
}

/**
 * Asserts the run failed with `code` and exit code `exit`: `{"error": …}` on stdout with a
 * message and hint, and `Error [CODE]: message` then `Hint: …` on stderr. Returns the error.
 */
export function failsWith(run: CliRun, code: string, exit: number): CliError {
  assert.equal(run.code, exit, describeRun(run));
  let doc: { error?: CliError };
  try {
    doc = JSON.parse(run.stdout) as { error?: CliError };
  } catch {
    assert.fail(`stdout is not one JSON document: ${describeRun(run)}`);
  }
  const error = doc.error;
  assert.ok(error !== undefined, describeRun(run));
  assert.equal(error.code, code, describeRun(run));
  assert.ok(error.message.length > 0 && !error.message.endsWith('.'), `message "${error.message}" is empty or ends with a period`);
  assert.ok(error.hint.length > 0, 'the hint is empty');
  const lines = run.stderr.split('\n');
  const at = lines.indexOf(`Error [${code}]: ${error.message}`);
  assert.ok(at >= 0, `stderr lacks "Error [${code}]: ${error.message}":\n${run.stderr}`);
  assert.equal(lines[at + 1], `Hint: ${error.hint}`, `stderr lacks the Hint: line after the error:\n${run.stderr}`);
  return error;
}

/** `astrid daemon start` on a home, stopped (or, failing that, killed by its pid) on dispose. */
export interface StartedDaemon extends AsyncDisposable {
  readonly pid: number;
}

/** Starts a daemon with `astrid daemon start`; `await using` stops it. */
export async function startDaemon(home: string): Promise<StartedDaemon> {
  const started = okJson<{ pid: number; alreadyRunning: boolean }>(await astrid(['daemon', 'start'], { home }));
  const pid = started.pid;
  return {
    pid,
    async [Symbol.asyncDispose]() {
      await astrid(['daemon', 'stop'], { home, timeoutMs: 40_000 });
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    },
  };
}

/** Whether process `pid` still exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
