// Whole-process wall time of `astrid --help` and `astrid kv get` (without and with a daemon)
// against a bare oclif CLI with one command, each with and without an oclif manifest.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, KernelError } from '../kernel/errors/index.ts';
import { tempDir } from '../test/support/temp-dir.ts';
import { writeAstridCopy, writeBareCli } from './cli-fixture.ts';
import { note, report, result, type Target } from './harness.ts';
import { timeCommands, type Cmd } from './proc-time.ts';

const RUNS = 10;
const WARMUP = 2;
const TARGET: Target = { of: 'ratio', op: '<=', bound: 1.5 };
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const node = process.execPath;

/** Runs a setup command and fails loudly if it does not succeed. */
function must(argv: readonly string[]): void {
  const r = spawnSync(node, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new KernelError(ErrorCode.Internal, `Cannot set up the CLI bench as "${argv.join(' ')}" failed: ${r.stderr.trim()}`);
}

await using dir = await tempDir('astrid-bench-cli-');
const bare = await writeBareCli(join(dir.path, 'bare-manifest'), repoRoot, { manifest: true });
const barePlain = await writeBareCli(join(dir.path, 'bare-plain'), repoRoot, { manifest: false });
const astrid = await writeAstridCopy(join(dir.path, 'astrid-manifest'), repoRoot, { manifest: true });
const astridPlain = await writeAstridCopy(join(dir.path, 'astrid-plain'), repoRoot, { manifest: false });
const home = join(dir.path, 'home');
must([astrid, 'init', '--home', home]);
must([astrid, 'kv', 'set', 'bench', 'greeting', '"hello"', '--home', home]);

const cmd = (label: string, ...argv: string[]): Cmd => ({ label, argv: [node, ...argv] });
const kvGet = (bin: string): string[] => [bin, 'kv', 'get', 'bench', 'greeting', '--home', home, '--json'];

const help = await timeCommands(
  [cmd('astrid --help', astrid, '--help'), cmd('bare --help', bare, '--help'), cmd('astrid --help (no manifest)', astridPlain, '--help'), cmd('bare --help (no manifest)', barePlain, '--help')],
  { runs: RUNS, warmup: WARMUP },
);
note(`--help via ${help.tool}: ${help.medians.map((m) => m.toFixed(0)).join(' / ')} ms`);
const local = await timeCommands(
  [cmd('astrid kv get', ...kvGet(astrid)), cmd('bare hello', bare, 'hello', '--json'), cmd('astrid kv get (no manifest)', ...kvGet(astridPlain)), cmd('bare hello (no manifest)', barePlain, 'hello', '--json')],
  { runs: RUNS, warmup: WARMUP },
);
note(`kv get, no daemon: ${local.medians.map((m) => m.toFixed(0)).join(' / ')} ms`);

must([astrid, 'daemon', 'start', '--home', home]);
let daemon: { medians: number[] };
try {
  daemon = await timeCommands([cmd('astrid kv get (daemon)', ...kvGet(astrid)), cmd('bare hello', bare, 'hello', '--json')], { runs: RUNS, warmup: WARMUP });
  note(`kv get, daemon: ${daemon.medians.map((m) => m.toFixed(0)).join(' / ')} ms`);
} finally {
  must([astrid, 'daemon', 'stop', '--home', home]);
}

const [helpA = 0, helpB = 0, helpAPlain = 0, helpBPlain = 0] = help.medians;
const [getA = 0, helloB = 0, getAPlain = 0, helloBPlain = 0] = local.medians;
const [getDaemon = 0, helloDaemon = 0] = daemon.medians;
const how = `median of ${RUNS} runs (${help.tool})`;
report(result('cli.help', helpA, 'ms', helpB, { target: TARGET, note: `astrid --help vs a bare one-command oclif CLI, both with a manifest; ${how}` }));
report(result('cli.kv-get.no-daemon', getA, 'ms', helloB, { target: TARGET, note: `astrid kv get owning the home itself vs bare hello, both with a manifest; ${how}` }));
report(result('cli.kv-get.daemon', getDaemon, 'ms', helloDaemon, { target: TARGET, note: `astrid kv get through a running daemon vs bare hello, both with a manifest; ${how}` }));
report(result('cli.help.no-manifest', helpAPlain, 'ms', helpBPlain, { note: 'both CLIs without a manifest' }));
report(result('cli.kv-get.no-daemon.no-manifest', getAPlain, 'ms', helloBPlain, { note: 'both CLIs without a manifest' }));
report(result('cli.manifest-gain.help', helpA, 'ms', helpAPlain, { note: 'astrid --help with the manifest vs without' }));
report(result('cli.manifest-gain.kv-get', getA, 'ms', getAPlain, { note: 'astrid kv get (no daemon) with the manifest vs without' }));
