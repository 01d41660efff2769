// `npm run bench [-- --only name] [-- --no-write]`: runs every bench/*.bench.ts in its own
// process, one after another, then writes bench/results.json and the README table.
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as v from 'valibot';
import { ErrorCode, KernelError } from '../kernel/errors/index.ts';
import { machineInfo, meetsTarget, nowMs, type BenchResult } from './harness.ts';
import { ResultsFileSchema, formatValue, mergeResults, parseResultLine, renderTable, replaceTable, type ResultsFile, type StoredResult } from './report-files.ts';

const BENCH_TIMEOUT_MS = 10 * 60_000;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const benchDir = join(repoRoot, 'bench');
const resultsPath = join(benchDir, 'results.json');
const readmePath = join(repoRoot, 'README.md');

interface Outcome {
  readonly results: BenchResult[];
  readonly code: number | null;
  readonly seconds: number;
}

/** Runs one bench file in a child process; its JSON result lines are collected, other lines shown. */
function runBench(file: string): Promise<Outcome> {
  const t0 = nowMs();
  const child = spawn(process.execPath, ['--import', 'tsx', join(benchDir, file)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const results: BenchResult[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const r = parseResultLine(line);
    if (r === null) process.stderr.write(`  ${line}\n`);
    else {
      results.push(r);
      const ok = meetsTarget(r);
      const ratio = r.ratio === null ? '' : `  ratio ${r.ratio}`;
      process.stderr.write(`  ${ok === false ? '✗' : ok === true ? '✓' : '·'} ${r.name}: ${formatValue(r.value, r.unit)}${ratio}\n`);
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), BENCH_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ results, code, seconds: (nowMs() - t0) / 1000 });
    });
  });
}

async function readPrevious(): Promise<ResultsFile | null> {
  const text = await readFile(resultsPath, 'utf8').catch(() => null);
  if (text === null) return null;
  const parsed = v.safeParse(ResultsFileSchema, JSON.parse(text));
  return parsed.success ? parsed.output : null;
}

const { values } = parseArgs({ options: { only: { type: 'string', multiple: true }, 'no-write': { type: 'boolean', default: false } } });
const stem = (file: string): string => file.replace(/\.bench\.ts$/, '');
const all = (await readdir(benchDir)).filter((f) => f.endsWith('.bench.ts')).sort();
const only = values.only ?? [];
const selected = only.length === 0 ? all : all.filter((f) => only.some((o) => stem(f) === o || stem(f).includes(o)));
if (selected.length === 0) {
  throw new KernelError(ErrorCode.InvalidArgument, `Cannot find a bench matching ${only.map((o) => `"${o}"`).join(', ')}: known are ${all.map((f) => `"${stem(f)}"`).join(', ')}`);
}

const date = new Date().toISOString();
const machine = machineInfo();
const fresh: StoredResult[] = [];
const failed: string[] = [];
const t0 = nowMs();
for (const file of selected) {
  process.stderr.write(`${stem(file)}\n`);
  const outcome = await runBench(file);
  process.stderr.write(`  (${outcome.seconds.toFixed(1)} s)\n`);
  if (outcome.code !== 0 || outcome.results.length === 0) failed.push(`${stem(file)} (exit ${String(outcome.code)}, ${outcome.results.length} results)`);
  for (const r of outcome.results) fresh.push({ bench: stem(file), date, machine, ...r });
}
process.stderr.write(`all benches: ${((nowMs() - t0) / 1000).toFixed(1)} s\n`);

if (values['no-write'] !== true) {
  const file = mergeResults(await readPrevious(), selected.map(stem), fresh);
  await writeFile(resultsPath, `${JSON.stringify(file, null, 2)}\n`);
  const readme = await readFile(readmePath, 'utf8').catch(() => '');
  await writeFile(readmePath, replaceTable(readme, renderTable(file)));
  process.stderr.write(`wrote ${resultsPath} and the table in ${readmePath}\n`);
}
if (failed.length > 0) {
  process.stderr.write(`failed: ${failed.join(', ')}\n`);
  process.exitCode = 1;
}
