import assert from 'node:assert/strict';
import { bootOwner, type Owner } from '../../kernel/boot.ts';
import { waitForOwnerLock } from '../../kernel/ipc/index.ts';
import type { EventLog } from '../../kernel/log/index.ts';
import type { ProjectionDefinition } from '../../kernel/projection/index.ts';
import { allProjections } from '../../projections/index.ts';

/**
 * Makes this test process the owner of `home` the way the kernel does (the real owner lock,
 * then `bootOwner`), without serving the socket, so a test can inspect the log directly.
 * Waits up to `timeoutMs` (default 15 s) for another owner to leave. Dispose the owner to
 * close the log and release the lock.
 */
export async function ownHome(
  home: string,
  options: { projections?: readonly ProjectionDefinition[]; timeoutMs?: number } = {},
): Promise<Owner> {
  const lock = await waitForOwnerLock(home, { role: 'command', signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) });
  return bootOwner({ home, role: 'command', lock, projections: options.projections ?? allProjections, serve: false });
}

/** Projection definitions that count how many events their reducers applied. */
export interface CountingProjections {
  readonly definitions: readonly ProjectionDefinition[];
  /** Events applied so far, by projection name. */
  applied(): Record<string, number>;
}

/**
 * Wraps projection definitions (same name, version and types) so a test can tell whether
 * opening a log had to catch a projection up, i.e. whether its stored state lagged the log.
 */
export function countingProjections(defs: readonly ProjectionDefinition[] = allProjections): CountingProjections {
  const counts: Record<string, number> = Object.fromEntries(defs.map((d) => [d.name, 0]));
  const definitions = defs.map((def): ProjectionDefinition => ({
    ...def,
    apply(state, event) {
      counts[def.name] = (counts[def.name] ?? 0) + 1;
      def.apply(state, event);
    },
  }));
  return { definitions, applied: () => ({ ...counts }) };
}

/**
 * Asserts that rebuilding every projection of `log` from seq 1 gives exactly the stored
 * (incrementally maintained) bytes, and returns the number of stored entries per projection.
 */
export async function assertRebuildMatches(log: EventLog): Promise<Record<string, number>> {
  const names = log.projectionNames();
  const before = new Map(names.map((n) => [n, log.dumpProjection(n)]));
  await log.rebuild();
  const sizes: Record<string, number> = {};
  for (const name of names) {
    assert.deepEqual(log.dumpProjection(name), before.get(name), `projection "${name}" rebuilt from zero differs from the incremental one`);
    sizes[name] = before.get(name)?.length ?? 0;
  }
  return sizes;
}
