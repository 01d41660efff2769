import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { ErrorCode, KernelError } from '../kernel/errors/index.ts';
import { tempDir } from '../test/support/temp-dir.ts';
import { median, nowMs } from './harness.ts';

/** A command to time: an executable and its arguments, run without a shell. */
export interface Cmd {
  readonly label: string;
  readonly argv: readonly [string, ...string[]];
}

/** Options of {@link timeCommands}. */
export interface TimeOptions {
  readonly runs?: number;
  readonly warmup?: number;
  /** Force the built-in timer even when hyperfine is installed. */
  readonly builtin?: boolean;
}

const HyperfineSchema = v.object({ results: v.array(v.object({ times: v.array(v.number()) })) });

/** Whether `hyperfine` is on the PATH. */
export function hasHyperfine(): boolean {
  return spawnSync('hyperfine', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Runs a command once, with stdout and stderr discarded, and returns its wall time in ms. */
function runOnce(cmd: Cmd): number {
  const [file, ...args] = cmd.argv;
  const t0 = nowMs();
  const r = spawnSync(file, args, { stdio: 'ignore' });
  const ms = nowMs() - t0;
  if (r.status !== 0) throw new KernelError(ErrorCode.Internal, `Cannot time "${cmd.label}" as it exited with ${String(r.status ?? r.signal)}`);
  return ms;
}

/** Built-in timer: warm-up runs, then every command in turn (A B C A B C …), medians in ms. */
function timeBuiltin(cmds: readonly Cmd[], runs: number, warmup: number): number[] {
  for (let w = 0; w < warmup; w++) for (const c of cmds) runOnce(c);
  const times = cmds.map((): number[] => []);
  for (let r = 0; r < runs; r++) cmds.forEach((c, k) => times[k]?.push(runOnce(c)));
  return times.map((t) => median(t));
}

const quote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);

/**
 * hyperfine without a shell (`-N`), in rounds of two runs per command so that the commands
 * still alternate on a machine whose load drifts; the median of every run, in ms.
 */
async function timeHyperfine(cmds: readonly Cmd[], runs: number, warmup: number): Promise<number[]> {
  await using dir = await tempDir('astrid-bench-hf-');
  const out = join(dir.path, 'hf.json');
  const times = cmds.map((): number[] => []);
  for (let done = 0, round = 0; done < runs; round++) {
    const n = Math.min(2, runs - done);
    const args = ['-N', '--style', 'none', '--runs', String(n), '--warmup', String(round === 0 ? warmup : 0), '--export-json', out];
    const r = spawnSync('hyperfine', [...args, ...cmds.map((c) => c.argv.map(quote).join(' '))], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new KernelError(ErrorCode.Internal, `Cannot time ${cmds.map((c) => `"${c.label}"`).join(', ')} as hyperfine exited with ${String(r.status)}`);
    const parsed = v.parse(HyperfineSchema, JSON.parse(await readFile(out, 'utf8')));
    parsed.results.forEach((x, k) => times[k]?.push(...x.times.map((t) => t * 1000)));
    done += n;
  }
  return times.map((t) => median(t));
}

/**
 * Wall time of whole processes: the median in ms of each command, in order. Uses hyperfine
 * when installed, else spawns and times them itself, alternating between the commands.
 * @throws KernelError INTERNAL when a command exits non-zero.
 */
export async function timeCommands(cmds: readonly Cmd[], options: TimeOptions = {}): Promise<{ medians: number[]; tool: string }> {
  const runs = options.runs ?? 10;
  const warmup = options.warmup ?? 2;
  if (options.builtin !== true && hasHyperfine()) return { medians: await timeHyperfine(cmds, runs, warmup), tool: 'hyperfine' };
  return { medians: timeBuiltin(cmds, runs, warmup), tool: 'spawnSync' };
}
