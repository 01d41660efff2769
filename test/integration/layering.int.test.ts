// Layering invariants, proved from the source text (so no lint exception can quietly undo
// them). They cover the shipped code: kernel/, projections/, commands/ and capsules/, without
// tests and fixtures, which run in one process on private temp files (and bench/, which must
// open raw lmdb-js for its baselines). The files so exempted are listed as diagnostics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BootOptions } from '../../kernel/boot.ts';
import type { OwnerLock } from '../../kernel/ipc/index.ts';
import { importsOf, isPackage, isTestFile, sourceFiles, type SourceFile } from '../support/source-files.ts';

const all = sourceFiles(['kernel', 'projections', 'commands', 'capsules', 'test', 'bench']).filter((f) => f.path !== 'test/integration/layering.int.test.ts');
const shipped = all.filter((f) => !isTestFile(f.path));

/** Shipped files importing package `name` (or, with a trailing "/", any package of that scope). */
function importersOf(files: readonly SourceFile[], name: string): string[] {
  return files.filter((f) => importsOf(f).some((i) => i.target === null && isPackage(i.specifier, name))).map((f) => f.path);
}

/** Shipped files whose code matches `pattern`. */
function matching(files: readonly SourceFile[], pattern: RegExp): string[] {
  return files.filter((f) => pattern.test(f.code)).map((f) => f.path);
}

test('the layering test reads the shipped sources', () => {
  assert.ok(shipped.some((f) => f.path === 'kernel/boot.ts'));
  assert.ok(shipped.some((f) => f.path === 'kernel/log/event-log.ts'));
  assert.ok(shipped.length > 40, `only ${shipped.length} shipped files found`);
});

const homes = [
  { pkg: 'lmdb', home: 'kernel/log/', required: true },
  { pkg: '@extism/extism', home: 'kernel/host/', required: true },
  { pkg: '@oclif/', home: 'commands/', required: true },
  { pkg: '@nats-io/', home: 'kernel/bus/nats/', required: false },
] as const;

for (const { pkg, home, required } of homes) {
  test(`only ${home} imports ${pkg.endsWith('/') ? `${pkg}*` : pkg}`, (t) => {
    const importers = importersOf(shipped, pkg);
    if (required) assert.ok(importers.length > 0, `nothing imports ${pkg}, so this rule checks nothing`);
    assert.deepEqual(importers.filter((p) => !p.startsWith(home)), []);
    const exempt = importersOf(all.filter((f) => isTestFile(f.path)), pkg).filter((p) => !p.startsWith(home));
    if (exempt.length > 0) t.diagnostic(`tests and benchmarks importing ${pkg} (exempt): ${exempt.join(', ')}`);
  });
}

test('kernel/ never imports commands/ or projections/', () => {
  const kernel = shipped.filter((f) => f.path.startsWith('kernel/'));
  const edges = kernel.flatMap((f) => importsOf(f).map((i) => ({ from: f.path, to: i.target })));
  assert.ok(edges.some((e) => e.to?.startsWith('kernel/') === true), 'no relative import inside kernel/ was found');
  const outward = edges.filter((e) => e.to !== null && (e.to.startsWith('commands/') || e.to.startsWith('projections/')));
  assert.deepEqual(outward, []);
});

test('`openEventLog()` and `EventLog.open()` are called only from kernel/boot.ts', (t) => {
  const opens = /(?<!function\s+)\bopenEventLog\s*\(|\bEventLog\s*\.\s*open\s*\(/;
  const callers = matching(shipped, opens);
  // kernel/log/event-log.ts defines both: `openEventLog()` is `EventLog.open()`.
  assert.deepEqual(callers.sort(), ['kernel/boot.ts', 'kernel/log/event-log.ts']);
  const definition = shipped.find((f) => f.path === 'kernel/log/event-log.ts')?.code ?? '';
  assert.equal(definition.match(new RegExp(opens, 'g'))?.length, 1, 'kernel/log/event-log.ts opens a log other than in openEventLog()');
  // No other file even imports it, so it cannot be called under another name.
  const importers = shipped.filter((f) => /\bopenEventLog\b/.test(f.code)).map((f) => f.path);
  assert.deepEqual(importers.sort(), ['kernel/boot.ts', 'kernel/log/event-log.ts', 'kernel/log/index.ts']);
  const exempt = matching(all.filter((f) => isTestFile(f.path)), opens);
  t.diagnostic(`tests and benchmarks opening private temp logs directly (exempt): ${exempt.join(', ')}`);
});

/** True when `BootOptions['lock']` is required and is an `OwnerLock`; checked by `tsc`. */
type LockRequired = Record<string, never> extends Pick<BootOptions, 'lock'> ? false : BootOptions['lock'] extends OwnerLock ? true : false;

test('`bootOwner()` requires an `OwnerLock`, and every caller takes the lock first', () => {
  const required: LockRequired = true;
  assert.equal(required, true);
  const boot = shipped.find((f) => f.path === 'kernel/boot.ts')?.code ?? '';
  assert.match(boot, /interface BootOptions\s*\{[^}]*\breadonly lock: OwnerLock;/);
  const callers = shipped.filter((f) => /(?<!function\s+)\bbootOwner\s*\(/.test(f.code));
  assert.ok(callers.length > 0, 'nothing calls bootOwner()');
  for (const caller of callers) {
    assert.match(caller.code, /\b(acquireOwnerLock|waitForOwnerLock)\s*\(/, `${caller.path} calls bootOwner() without taking the owner lock`);
  }
});
