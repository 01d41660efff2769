import ignore, { type Ignore } from 'ignore';
import { ErrorCode, KernelError } from '../errors/index.ts';
import type { Logger } from '../logger/index.ts';
import { BUILTIN_HIDDEN_RULES, BUILTIN_PROTECTED_RULES } from './builtin-rules.ts';
import { parseIgnoreFile, type RootRule } from './rule-file.ts';

/** Name of the per-directory boundary file. */
export const IGNORE_FILE = '.astridignore';

/** Why a path is or is not hidden (or, from `checkWrite`, refused for writing). */
export interface IgnoreDecision {
  readonly ignored: boolean;
  /** The deciding rule as written in its file (the rule of an ignored parent directory, if that is why), or null. */
  readonly rule: string | null;
  /** The file holding the rule, relative to the root (`src/.astridignore`), or `'builtin'`, or null. */
  readonly source: string | null;
  /** The rule's 1-based line in `source`, or null (builtin or not ignored). */
  readonly line: number | null;
}

/** Options shared by the boundary's constructors. */
export interface IgnoreBoundaryOptions {
  /** Apply the built-in secret patterns and the `.git`/`.astridignore` protections (default true). */
  readonly builtin?: boolean;
  readonly logger?: Logger;
}

interface RuleMeta {
  readonly original: string;
  readonly source: string;
  readonly line: number | null;
}

/** Up to this many nested ignore files, the nearest one is found by prefix tests, not a walk. */
const PREFIX_SCAN_MAX = 16;

/** Most `isIgnored` decisions remembered per kind before the memo starts over (bounds memory). */
const MEMO_LIMIT = 65_536;

const NOT_IGNORED: IgnoreDecision = Object.freeze({ ignored: false, rule: null, source: null, line: null });

/**
 * The `.astridignore` boundary over the `ignore` package, case-sensitive like git on Linux.
 *
 * Rules come from an ignore file in any directory (relative to that directory, as with
 * `.gitignore`), then the built-in hidden patterns, which therefore cannot be re-included.
 * A path under an ignored directory is ignored (a `!` cannot re-include it, as in git). One
 * matcher is kept per directory that has a file, holding its ancestors' rules and its own, so
 * a lookup picks the nearest such directory and asks one cached matcher.
 *
 * Paths are POSIX, relative to the boundary root (a leading `/` is read as that root, so a
 * VFS virtual path can be passed as is). `''` and `/` are the root, never ignored. Anything
 * else malformed (`..`, `.`, empty components, NUL) throws `PATH_INVALID`. Immutable once
 * built (it only remembers its decisions): build a new one when an ignore file changes.
 * Holds no resources.
 */
export class IgnoreBoundary {
  readonly #meta: RuleMeta[];
  readonly #matchers: ReadonlyMap<string, Ignore>;
  readonly #root: Ignore;
  readonly #nested: boolean;
  /** With few nested ignore files: their directories as `dir/` prefixes, deepest first, and matchers. */
  readonly #prefixes: ReadonlyArray<readonly [string, Ignore]> | null;
  readonly #protected: Ignore | null;
  /** Decisions of `isIgnored` by the path as given, for files and for directories. */
  readonly #fileMemo = new Map<string, boolean>();
  readonly #dirMemo = new Map<string, boolean>();
  /** The ignore files the rules came from, relative to the root, shallowest first. */
  readonly sources: readonly string[];

  private constructor(files: ReadonlyMap<string, string>, options: IgnoreBoundaryOptions) {
    const builtin = options.builtin ?? true;
    this.#meta = [];
    const dirs = [...files.keys()].sort(byDepth);
    const rulesOf = new Map<string, Array<{ pattern: string; mark: string }>>();
    for (const dir of dirs) {
      const source = dir === '' ? IGNORE_FILE : `${dir}/${IGNORE_FILE}`;
      const own = parseIgnoreFile(files.get(dir) as string, dir).map((r: RootRule) => this.#rule(r.pattern, r.original, source, r.line));
      rulesOf.set(dir, [...(rulesOf.get(nearestAncestor(dir, rulesOf)) ?? []), ...own]);
    }
    const tail = builtin ? BUILTIN_HIDDEN_RULES.map((p) => this.#rule(p, p, 'builtin', null)) : [];
    const make = (rules: Array<{ pattern: string; mark: string }>): Ignore => ignore({ ignorecase: false }).add([...rules, ...tail]);
    const matchers = new Map<string, Ignore>();
    for (const [dir, rules] of rulesOf) matchers.set(dir, make(rules));
    this.#root = matchers.get('') ?? make([]);
    this.#matchers = matchers;
    this.#nested = dirs.some((d) => d !== '');
    const nested = dirs.filter((d) => d !== '');
    this.#prefixes =
      nested.length <= PREFIX_SCAN_MAX
        ? nested.sort((a, b) => b.length - a.length).map((d) => [`${d}/`, matchers.get(d) as Ignore] as const)
        : null;
    this.#protected = builtin
      ? ignore({ ignorecase: false }).add(BUILTIN_PROTECTED_RULES.map((p) => this.#rule(p, p, 'builtin', null)))
      : null;
    this.sources = Object.freeze(dirs.map((d) => (d === '' ? IGNORE_FILE : `${d}/${IGNORE_FILE}`)));
    options.logger?.debug('ignore boundary built', { files: dirs.length, rules: this.#meta.length });
  }

  /**
   * Builds a boundary from ignore file texts keyed by the directory holding each file,
   * relative to the root (`''` for the root). Throws `PATH_INVALID` for a bad directory key.
   */
  static fromFiles(files: ReadonlyMap<string, string> | Readonly<Record<string, string>>, options: IgnoreBoundaryOptions = {}): IgnoreBoundary {
    const entries = files instanceof Map ? [...files] : Object.entries(files);
    const map = new Map<string, string>();
    for (const [dir, text] of entries) map.set(dir === '' || dir === '/' ? '' : normalizeRelative(dir), text);
    return new IgnoreBoundary(map, options);
  }

  /**
   * Whether `relPath` is hidden. The hot path: a path asked before (spelled the same way) is
   * one map lookup; a new one is checked, then one map walk over parent directories and one
   * `ignore` lookup. Throws `PATH_INVALID` for a malformed path.
   */
  isIgnored(relPath: string, isDir = false): boolean {
    const memo = isDir ? this.#dirMemo : this.#fileMemo;
    const known = memo.get(relPath);
    if (known !== undefined) return known;
    const path = normalizeRelative(relPath);
    const ignored = path !== '' && this.#matcherFor(path).ignores(isDir ? `${path}/` : path);
    // Only a path that passed the checks above is remembered, so a hit needs no re-check.
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(relPath, ignored);
    return ignored;
  }

  /** Whether `relPath` is hidden, and by which rule of which file. Throws `PATH_INVALID`. */
  check(relPath: string, options: { isDir?: boolean } = {}): IgnoreDecision {
    const path = normalizeRelative(relPath);
    if (path === '') return NOT_IGNORED;
    return this.#decide(this.#matcherFor(path), options.isDir === true ? `${path}/` : path);
  }

  /**
   * Whether writing, creating, deleting or renaming onto `relPath` is refused: hidden paths
   * and the protected `.astridignore` files (unless built without builtins). Throws `PATH_INVALID`.
   */
  checkWrite(relPath: string, options: { isDir?: boolean } = {}): IgnoreDecision {
    const hidden = this.check(relPath, options);
    if (hidden.ignored || this.#protected === null) return hidden;
    const path = normalizeRelative(relPath);
    return path === '' ? NOT_IGNORED : this.#decide(this.#protected, options.isDir === true ? `${path}/` : path);
  }

  #decide(matcher: Ignore, path: string): IgnoreDecision {
    const result = matcher.test(path);
    if (!result.ignored) return NOT_IGNORED;
    const meta = this.#meta[Number(result.rule?.mark)];
    if (meta === undefined) return { ignored: true, rule: result.rule?.pattern ?? null, source: null, line: null };
    return { ignored: true, rule: meta.original, source: meta.source, line: meta.line };
  }

  #matcherFor(path: string): Ignore {
    if (!this.#nested) return this.#root;
    if (this.#prefixes !== null) {
      // A few prefix tests allocate nothing; the longest directory that holds the path wins.
      for (const [prefix, matcher] of this.#prefixes) if (path.startsWith(prefix)) return matcher;
      return this.#root;
    }
    let end = path.lastIndexOf('/');
    while (end > 0) {
      const matcher = this.#matchers.get(path.slice(0, end));
      if (matcher !== undefined) return matcher;
      end = path.lastIndexOf('/', end - 1);
    }
    return this.#root;
  }

  #rule(pattern: string, original: string, source: string, line: number | null): { pattern: string; mark: string } {
    this.#meta.push({ original, source, line });
    return { pattern, mark: String(this.#meta.length - 1) };
  }
}

/**
 * Checks and trims a relative POSIX path: strips one leading `/`, refuses `.`/`..`/empty
 * components, a trailing `/`, NUL and other control characters with `PATH_INVALID`.
 */
export function normalizeRelative(relPath: string): string {
  const path = relPath.charCodeAt(0) === 47 ? relPath.slice(1) : relPath;
  let start = 0;
  for (let i = 0; i <= path.length; i += 1) {
    const c = i === path.length ? 47 : path.charCodeAt(i);
    if (c < 32 || c === 127) throw badPath(relPath, 'it contains a control character');
    if (c !== 47) continue;
    const length = i - start;
    if (path.length > 0 && (length === 0 || (length === 1 && path.charCodeAt(start) === 46) ||
      (length === 2 && path.charCodeAt(start) === 46 && path.charCodeAt(start + 1) === 46))) {
      throw badPath(relPath, 'it has an empty, "." or ".." component');
    }
    start = i + 1;
  }
  return path;
}

function badPath(relPath: string, why: string): KernelError {
  return new KernelError(ErrorCode.PathInvalid, `Cannot check path "${relPath.replace(/[\u0000-\u001f\u007f]/g, '?')}" as ${why}`);
}

/** Shallowest first, so an ancestor's chain is built before its descendants'. */
function byDepth(a: string, b: string): number {
  const depth = (s: string): number => (s === '' ? 0 : s.split('/').length);
  return depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function nearestAncestor(dir: string, known: ReadonlyMap<string, unknown>): string {
  let end = dir.lastIndexOf('/');
  while (end > 0) {
    const candidate = dir.slice(0, end);
    if (known.has(candidate)) return candidate;
    end = dir.lastIndexOf('/', end - 1);
  }
  return '';
}
