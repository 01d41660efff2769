import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHomeMarker } from '../../kernel/home/index.ts';
import { childGroup, spawnChild, type ChildHandle } from '../support/child.ts';
import { CrashModel } from '../support/crash-model.ts';
import { assertRebuildMatches, countingProjections, ownHome } from '../support/owned-home.ts';
import { parseChildLine, type Ack } from '../support/publisher-acks.ts';
import { repoPath } from '../support/repo-root.ts';
import { tempDir } from '../support/temp-dir.ts';

const publisherChild = repoPath('test/support/publisher-child.ts');
/** Kills in the suite: every fourth lands while the child opens the home, the rest under load. */
const KILLS = 24;
const WORKERS = 48;

interface KillRecord {
  readonly run: string;
  readonly phase: 'startup' | 'load';
  readonly delayMs: number;
  readonly reachedReady: boolean;
  readonly acks: number;
  readonly newEvents: number;
  readonly head: number;
}

/** Milliseconds between two numbers, drawn uniformly. */
const between = (lo: number, hi: number): number => Math.round(lo + Math.random() * (hi - lo));

test('a publisher killed with SIGKILL at random moments never loses an acknowledged write', { timeout: 300_000 }, async (t) => {
  await using dir = await tempDir('astrid-crash-');
  const home = join(dir.path, 'home');
  await createHomeMarker(home);
  const model = new CrashModel();
  const kills: KillRecord[] = [];
  // How long the child takes from "S" (about to open the home) to "R" (open); startup kills aim inside it.
  let openMs = 60;
  // Each child loads while its predecessor runs, and touches the home only once released.
  await using children = childGroup();
  const load = (run: string): ChildHandle =>
    children.add(spawnChild(process.execPath, ['--import', 'tsx', publisherChild, home, run, String(WORKERS)], { openStdin: true }));
  let next = load('r0');

  for (let i = 0; i < KILLS; i++) {
    const run = `r${i}`;
    const phase = i % 4 === 0 ? 'startup' : 'load';
    const child = next;
    await child.waitForLine((l) => l === 'L');
    child.write('go\n');
    if (i + 1 < KILLS) next = load(`r${i + 1}`);
    const started = await child.waitForLine((l) => l === 'S');
    const startedAt = performance.now();
    let delayMs: number;
    if (phase === 'startup') {
      delayMs = between(0, openMs * 1.2);
      await sleep(delayMs);
    } else {
      await child.waitForLine((l) => l.startsWith('R '), { fromIndex: started.index });
      openMs = performance.now() - startedAt;
      // Load has begun once the first write is acknowledged.
      await child.waitForLine((l) => l.startsWith('A '), { fromIndex: started.index });
      delayMs = between(20, 300);
      await sleep(delayMs);
    }
    child.kill('SIGKILL');
    const exit = await child.exited;
    assert.equal(exit.signal, 'SIGKILL', `child ${run} exited by itself (code ${exit.code}): ${child.stderr.slice(-2000)}`);
    // Lines are written whole with one write(2) each, so a kill never leaves half a line.
    assert.equal(child.partial, '', `child ${run} left a partial line`);

    const lines = child.lines.map(parseChildLine);
    const failures = lines.filter((l) => l.kind === 'failure');
    assert.deepEqual(failures, [], `child ${run} had writes refused`);
    const acks: Ack[] = lines.flatMap((l) => (l.kind === 'ack' ? [l.ack] : []));
    const reachedReady = lines.some((l) => l.kind === 'ready');
    if (reachedReady) assert.ok(lines.some((l) => l.kind === 'ready' && l.mode === 'local'), `child ${run} did not own the home`);

    // Open the home as its next owner would, with reducers that count what opening had to apply.
    const counting = countingProjections();
    await using owner = await ownHome(home, { projections: counting.definitions });
    const caughtUp = counting.applied();
    const log = owner.log;
    for (const name of log.projectionNames()) {
      const status = log.projectionStatus(name);
      assert.equal(status.checkpoint, log.head().seq, `projection "${name}" is at ${status.checkpoint}, not at the head, after run ${run}`);
      assert.equal(log.projectionFailure(name), null);
    }
    assert.ok(Object.values(caughtUp).every((n) => n === 0), `opening had to catch projections up after run ${run}: ${JSON.stringify(caughtUp)}`);

    const found = model.check(log, run, acks);
    model.assertProjections(log);
    await assertRebuildMatches(log);
    await owner.close();
    kills.push({ run, phase, delayMs, reachedReady, acks: found.acked, newEvents: found.newEvents, head: model.head });
  }

  assert.equal(kills.length, KILLS);
  const underLoad = kills.filter((k) => k.phase === 'load');
  assert.ok(underLoad.every((k) => k.acks > 0), 'some load run acknowledged nothing, so its kill proved little');
  const total = kills.reduce((n, k) => n + k.acks, 0);
  const unacked = kills.reduce((n, k) => n + k.newEvents - k.acks, 0);
  const startupBeforeReady = kills.filter((k) => k.phase === 'startup' && !k.reachedReady).length;
  t.diagnostic(`${KILLS} SIGKILLs (${KILLS - underLoad.length} at startup, ${startupBeforeReady} of them before the home was open); final head ${model.head}`);
  t.diagnostic(`${total} acknowledged writes all found; ${unacked} more events were durable but unacknowledged when the child died`);
  t.diagnostic(`open took ~${Math.round(openMs)} ms; per kill: ${kills.map((k) => `${k.run}:${k.phase[0]}${k.delayMs}ms/${k.acks}`).join(' ')}`);
});
