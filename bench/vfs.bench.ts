// The VFS hot paths of issue 4, each against the raw library in the same run:
// - a read of an unmodified (lower) file through an overlay session vs `fs.readFile`;
// - capability handle verification as the kernel runs it (its one cached verifier), and the
//   uncached first use for information, each vs one raw HMAC-SHA256 over the same bytes;
// - ignore decisions of the `.astridignore` boundary vs the `ignore` package's `ignores()`.
import { createHmac, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ignore from 'ignore';
import { attenuateCapability, mintCapability, verifierSource, verifyCapability, type VerifyContext } from '../kernel/caps/index.ts';
import { ErrorCode, KernelError } from '../kernel/errors/index.ts';
import { BUILTIN_HIDDEN_RULES, loadIgnoreBoundary, parseIgnoreFile, type IgnoreBoundary } from '../kernel/ignore/index.ts';
import { openEventLog } from '../kernel/log/index.ts';
import { VFS_PROJECTION, VfsService } from '../kernel/vfs/overlay/index.ts';
import { allProjections } from '../projections/index.ts';
import { tempDir } from '../test/support/temp-dir.ts';
import { BENCH_ORIGIN, BENCH_SOURCE } from './events.ts';
import { median, note, nowMs, report, result } from './harness.ts';
import { interleaved, paired } from './paired.ts';
import { IGNORE_FILES, directoriesOf, fixturePaths, manyPaths, sourceText, writeFixture } from './vfs-fixture.ts';

const READ_SIZES = [4 * 1024, 64 * 1024];
const READ_CALLS = 4000; // interleaved pairs per size
const READ_WARMUP = 500;
const UPPER_FILES = 60; // upper-layer writes present in the session while reading
const CAP_ROUNDS = 5;
const CAP_TIME_MS = 300;
const CAP_BATCH = 32; // verifications per tinybench sample
const IGNORE_ROUNDS = 9;
const IGNORE_WARM_PASSES = 5;
const source = BENCH_SOURCE;

await using dir = await tempDir('astrid-bench-vfs-');

// --- Overlay read of a lower file ---------------------------------------------------------
{
  const lower = join(dir.path, 'lower');
  await writeFixture(lower);
  for (const size of READ_SIZES) await writeFile(join(lower, `src/pkg/core/data-${size / 1024}k.ts`), sourceText(size, size));
  await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: BENCH_ORIGIN }, projections: allProjections });
  // The port LocalKernel gives its VfsService (no materializers here).
  const vfs = new VfsService({ state: () => log.projection(VFS_PROJECTION), blob: (d) => log.getBlob(d), append: (events) => log.append(events) });
  const { id } = await vfs.open(lower, { source });
  // Upper-layer changes around the files read: new files beside them and elsewhere, an
  // overwritten lower file, a whiteout and a new directory.
  const pkgs = ['core', 'net', 'fs', 'cli', 'util', 'vfs'];
  for (let i = 0; i < UPPER_FILES; i += 1) await vfs.write(id, `/src/pkg/${pkgs[i % pkgs.length] as string}/gen-${i}.ts`, sourceText(2048, i), { source });
  await vfs.write(id, '/src/pkg/core/index.ts', sourceText(3000, 7), { source });
  await vfs.remove(id, '/src/pkg/core/types.ts', { source });
  await vfs.mkdir(id, '/src/pkg/core/new', { source });
  note(`session ${id}: ${UPPER_FILES + 3} upper changes, log head ${log.head().seq}`);

  for (const size of READ_SIZES) {
    const vpath = `/src/pkg/core/data-${size / 1024}k.ts`;
    const host = join(lower, vpath);
    const [ours, raw] = await Promise.all([vfs.read(id, vpath), readFile(host)]);
    if (!Buffer.from(ours).equals(raw)) throw new KernelError(ErrorCode.Internal, `Cannot bench ${vpath} as the overlay read other bytes`);
    const r = await interleaved(() => vfs.read(id, vpath), () => readFile(host), {
      calls: READ_CALLS, warmup: READ_WARMUP, label: `vfs read ${size / 1024} KiB`,
    });
    report(result(`vfs.read.lower.${size / 1024}k`, r.ours * 1000, 'µs', r.raw * 1000, {
      target: { of: 'ratio', op: '<=', bound: 1.5 },
      note: `VfsService.read of an unmodified ${size / 1024} KiB file 4 levels deep (LMDB log, ${UPPER_FILES + 3} upper changes) vs fs.readFile, measured call by call, alternating; median`,
    }));
  }
}

// --- Capability handle verification -------------------------------------------------------
{
  const key = randomBytes(32);
  const capsuleId = 'bench-agent';
  const expiresAt = Date.now() + 3_600_000;
  const root = mintCapability(key, { capsuleId, root: '/work', rights: ['read', 'write', 'list', 'create', 'delete'], expiresAt });
  let attenuated = attenuateCapability(root, { root: '/work/src' });
  attenuated = attenuateCapability(attenuated, { rights: ['read', 'list'] });
  attenuated = attenuateCapability(attenuated, { root: '/work/src/pkg', expiresAt: expiresAt - 60_000 });
  const revoked = new Set(Array.from({ length: 100 }, () => randomBytes(16).toString('hex')));
  const context: VerifyContext = { capsuleId, now: Date.now(), isRevoked: (rid) => revoked.has(rid) };
  const verifier = await verifierSource(async () => key)(); // as bootOwner makes the kernel's one
  for (const [label, token] of [['root', root], ['attenuated-3', attenuated]] as const) {
    // What the handle MACs: the version byte and every block (the body without the tag).
    const body = Buffer.from(token.slice(token.indexOf('_') + 1), 'base64url');
    const bytes = body.subarray(0, body.length - 32);
    let sink = 0;
    // The kernel's path: its one CapabilityVerifier, which checks a handle's chain once and
    // then only capsule, expiry and revocation. The target is on this figure.
    const c = await paired(
      () => { for (let i = 0; i < CAP_BATCH; i += 1) sink += verifier.verify(token, context).rightsMask; },
      () => { for (let i = 0; i < CAP_BATCH; i += 1) sink += createHmac('sha256', key).update(bytes).digest()[0] as number; },
      { rounds: CAP_ROUNDS, timeMs: CAP_TIME_MS, batch: CAP_BATCH, label: `verify ${label}` },
    );
    report(result(`caps.verify.${label}`, c.ours * 1000, 'µs', c.raw * 1000, {
      target: { of: 'value', op: '<=', bound: 5 },
      note: `The kernel's path: its one CapabilityVerifier (capVerify, capRevoke, fs airlocks) on a handle seen before: capsule, expiry, revocation; the chain checked once (see caps.verify.uncached.${label}) vs one createHmac; median`,
    }));
    // Informative: what a handle's first use costs (decode, every HMAC, caveats, revocation).
    const r = await paired(
      () => { for (let i = 0; i < CAP_BATCH; i += 1) sink += verifyCapability(token, { ...context, key }).rightsMask; },
      () => { for (let i = 0; i < CAP_BATCH; i += 1) sink += createHmac('sha256', key).update(bytes).digest()[0] as number; },
      { rounds: CAP_ROUNDS, timeMs: CAP_TIME_MS, batch: CAP_BATCH, label: `verify uncached ${label}` },
    );
    report(result(`caps.verify.uncached.${label}`, r.ours * 1000, 'µs', r.raw * 1000, {
      note: `Informative, no target: verifyCapability uncached, as a handle's first use costs (decode, ${label === 'root' ? 1 : 4} HMAC, caveats, revocation) vs one createHmac over the same ${bytes.length} bytes; median`,
    }));
    if (sink === 0) note('(sink)');
  }
}

// --- Ignore decisions ----------------------------------------------------------------------
{
  const root = join(dir.path, 'ignore-root');
  await writeFixture(root);
  const toQueries = (files: readonly string[]): Array<{ p: string; dir: boolean }> =>
    [...directoriesOf(files).map((p) => ({ p, dir: true })), ...files.map((p) => ({ p, dir: false }))];
  const warmup = toQueries(fixturePaths());
  const queries = toQueries(manyPaths());
  const rawOfQueries = (qs: ReadonlyArray<{ p: string; dir: boolean }>): string[] => qs.map((q) => (q.dir ? `${q.p}/` : q.p));
  const rawWarmup = rawOfQueries(warmup);
  const rawQueries = rawOfQueries(queries);
  // The same rules as one flat list, rooted as the boundary roots them, builtins last.
  const flat = [...Object.entries(IGNORE_FILES).flatMap(([d, text]) => parseIgnoreFile(text, d).map((r) => r.pattern)), ...BUILTIN_HIDDEN_RULES];
  type Raw = ReturnType<typeof ignore>;
  const ours = (b: IgnoreBoundary, qs: ReadonlyArray<{ p: string; dir: boolean }>): number => { let n = 0; for (const q of qs) if (b.isIgnored(q.p, q.dir)) n += 1; return n; };
  const raw = (ig: Raw, qs: readonly string[]): number => { let n = 0; for (const q of qs) if (ig.ignores(q)) n += 1; return n; };
  // Fresh instances (the `ignore` package caches every decision), their rules compiled on
  // the small fixture listing, so the first pass over `queries` decides each path afresh.
  const fresh = async (): Promise<{ b: IgnoreBoundary; ig: Raw }> => {
    const b = await loadIgnoreBoundary(root);
    const ig = ignore({ ignorecase: false }).add(flat);
    ours(b, warmup);
    raw(ig, rawWarmup);
    return { b, ig };
  };
  const probe = await fresh();
  const ignored = ours(probe.b, queries);
  if (ignored !== raw(probe.ig, rawQueries)) throw new KernelError(ErrorCode.Internal, 'Cannot bench ignore decisions as the boundary and the flat rules disagree');
  note(`ignore: ${queries.length} paths (${ignored} ignored), ${probe.b.sources.length} ignore files, ${flat.length} flat rules`);

  const cold = { ours: [] as number[], raw: [] as number[] };
  const warm = { ours: [] as number[], raw: [] as number[] };
  const rate = (passes: number, t0: number): number => ((passes * queries.length) / (nowMs() - t0)) * 1000;
  const timed = (into: { cold: number[]; warm: number[] }, pass: () => void): void => {
    let t = nowMs();
    pass();
    into.cold.push(rate(1, t));
    t = nowMs();
    for (let i = 0; i < IGNORE_WARM_PASSES; i += 1) pass();
    into.warm.push(rate(IGNORE_WARM_PASSES, t));
  };
  for (let round = 0; round < IGNORE_ROUNDS; round += 1) {
    const { b, ig } = await fresh();
    const runs = [
      () => timed({ cold: cold.ours, warm: warm.ours }, () => ours(b, queries)),
      () => timed({ cold: cold.raw, warm: warm.raw }, () => raw(ig, rawQueries)),
    ];
    for (const run of round % 2 === 0 ? runs : runs.reverse()) run();
  }
  for (const [label, m, what] of [['cold', cold, 'first decision per path'], ['warm', warm, 'repeated decisions (cached in both)']] as const) {
    note(`ignore ${label}: ours ${Math.round(median(m.ours))}/s, raw ${Math.round(median(m.raw))}/s`);
    report(result(`ignore.decisions.${label}`, median(m.ours), 'decisions/s', median(m.raw), {
      target: { of: 'ratio', op: '>=', bound: 0.8 },
      note: `IgnoreBoundary.isIgnored (3 .astridignore files + builtins) vs ignore().ignores() with the same flat rules, ${queries.length} paths, ${what}`,
    }));
  }
}
