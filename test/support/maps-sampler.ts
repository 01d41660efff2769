import { readdirSync, readFileSync } from 'node:fs';
import * as v from 'valibot';
import { spawnChild } from './child.ts';
import { repoPath } from './repo-root.ts';

/** Options of {@link startMapsSampler}. */
export interface MapsSamplerOptions {
  /** Files whose mapping makes a process count as having them open (e.g. `log.mdb` and `log.mdb-lock`). */
  readonly files: readonly string[];
  /** Processes whose command line contains this text are watched (e.g. the home path). */
  readonly cmdlineContains: string;
  /** Processes watched whatever their command line (e.g. this test process). */
  readonly alsoWatch?: readonly number[];
  /** Pause between two sweeps (default 1 ms). */
  readonly intervalMs?: number;
}

const ReportSchema = v.object({
  samples: v.number(),
  samplesWithOneMapper: v.number(),
  processesWatched: v.number(),
  mappers: v.array(v.number()),
  violations: v.array(v.object({ pids: v.array(v.number()), atSample: v.number() })),
  unconfirmed: v.number(),
  elapsedMs: v.number(),
});

/**
 * What a sampler saw: `samples` sweeps over every watched process, of which
 * `samplesWithOneMapper` saw exactly one process mapping the files; `mappers` are the distinct
 * pids ever seen mapping them; `violations` the confirmed moments two mapped them at once;
 * `unconfirmed` the sweeps that saw two but whose sequential re-check did not confirm it.
 */
export type MapsReport = v.InferOutput<typeof ReportSchema>;

/**
 * Watches processes' `/proc/<pid>/maps`, synchronously, one sweep at a time. A sweep reads
 * each watched process once; since a lock handover between two reads could look like an
 * overlap, a sweep that sees two mappers is re-checked with two sequential passes over them
 * (A, B, A, B): only if each is mapped in both passes does it count, because then A was mapped
 * before and after B's first read (assuming no process unmaps and remaps within microseconds).
 */
export class MapsWatch {
  readonly #suffixes: readonly string[];
  readonly #needle: string;
  readonly #fixed: ReadonlySet<number>;
  /** pid → true when watched, or the time it was first seen while its command line did not match. */
  readonly #known = new Map<number, true | number>();
  readonly #everWatched = new Set<number>();
  readonly #mappers = new Set<number>();
  readonly #violations: Array<{ pids: number[]; atSample: number }> = [];
  readonly #started = Date.now();
  #samples = 0;
  #oneMapper = 0;
  #unconfirmed = 0;

  constructor(options: MapsSamplerOptions) {
    // A maps line ends with the path; a deleted file would show " (deleted)" after it.
    this.#suffixes = options.files.map((f) => ` ${f}\n`);
    this.#needle = options.cmdlineContains;
    this.#fixed = new Set(options.alsoWatch ?? []);
  }

  /** One sweep over every watched process. */
  sweep(): void {
    const pids = this.#discover();
    const now = pids.filter((pid) => this.#maps(pid));
    this.#samples++;
    for (const pid of now) this.#mappers.add(pid);
    if (now.length === 1) this.#oneMapper++;
    if (now.length < 2) return;
    const first = now.map((pid) => this.#maps(pid));
    const second = now.map((pid) => this.#maps(pid));
    const both = now.filter((_, i) => first[i] === true && second[i] === true);
    if (both.length >= 2) this.#violations.push({ pids: both, atSample: this.#samples });
    else this.#unconfirmed++;
  }

  /** What the sweeps so far saw. */
  report(): MapsReport {
    return {
      samples: this.#samples,
      samplesWithOneMapper: this.#oneMapper,
      processesWatched: this.#everWatched.size,
      mappers: [...this.#mappers],
      violations: this.#violations,
      unconfirmed: this.#unconfirmed,
      elapsedMs: Date.now() - this.#started,
    };
  }

  #maps(pid: number): boolean {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch {
      return false;
    }
    return this.#suffixes.some((s) => text.includes(s));
  }

  #discover(): number[] {
    const now = Date.now();
    const present = new Set<number>();
    const watched: number[] = [];
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) continue;
      present.add(pid);
      const seen = this.#known.get(pid);
      // A process between fork and exec still shows its parent's command line: recheck young ones.
      if (seen === undefined || (seen !== true && now - seen < 2_000)) {
        let cmdline = '';
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        if (cmdline.replaceAll('\0', ' ').includes(this.#needle)) this.#known.set(pid, true);
        else if (seen === undefined) this.#known.set(pid, now);
      }
      if (this.#known.get(pid) === true || this.#fixed.has(pid)) {
        watched.push(pid);
        this.#everWatched.add(pid);
      }
    }
    for (const pid of this.#known.keys()) if (!present.has(pid)) this.#known.delete(pid);
    return watched;
  }
}

/** A running sampler process; `stop()` (or `await using`) ends it and returns its report. */
export interface MapsSampler extends AsyncDisposable {
  stop(): Promise<MapsReport>;
}

/**
 * Starts a {@link MapsWatch} in its own process (`maps-sampler-child.ts`), so sampling keeps
 * its pace while the test's event loop is busy, and resolves once its first sweep is done.
 * The sampler never watches itself. Linux only.
 */
export async function startMapsSampler(options: MapsSamplerOptions): Promise<MapsSampler> {
  const child = spawnChild(process.execPath, ['--import', 'tsx', repoPath('test/support/maps-sampler-child.ts'), JSON.stringify(options)], {
    openStdin: true,
  });
  try {
    await child.waitForLine((l) => l === 'ready');
  } catch (error) {
    await child.close();
    throw error;
  }
  let report: Promise<MapsReport> | null = null;
  const stop = (): Promise<MapsReport> => {
    report ??= (async () => {
      try {
        child.write('stop\n');
        const { line } = await child.waitForLine((l) => l.startsWith('{'));
        return v.parse(ReportSchema, JSON.parse(line));
      } finally {
        await child.close();
      }
    })();
    return report;
  };
  return { stop, [Symbol.asyncDispose]: async () => void (await stop().catch(() => undefined)) };
}
