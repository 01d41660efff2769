/** One rule of an ignore file, rewritten to apply from the boundary root. */
export interface RootRule {
  /** The pattern for the `ignore` package, relative to the boundary root. */
  readonly pattern: string;
  /** The line as git reports it (`git check-ignore -v`): after trimming, `!` kept. */
  readonly original: string;
  /** 1-based line number in its file. */
  readonly line: number;
}

const BOM = '\ufeff';

/**
 * Parses the text of an ignore file found in directory `dir` (relative to the boundary root,
 * `''` for the root) into rules that apply from the root, following git's own reading:
 * a leading BOM is skipped, lines split on `\n` with one `\r` dropped, `#` starts a comment
 * only in the first column, unescaped trailing spaces are trimmed.
 *
 * A rule of a nested file is rewritten so one rule list can hold every file: a pattern with
 * a slash (other than a trailing one) is anchored to its directory (`/x` or `a/b` in `d/`
 * becomes `d/x`, `d/a/b`), one without matches at any depth below it (`x` becomes `d/**\/x`).
 * Glob characters in the directory name are escaped. Deeper files come later in the list, so
 * the last match wins across files just as it does within one, which is git's precedence.
 */
export function parseIgnoreFile(text: string, dir: string): RootRule[] {
  const body = text.startsWith(BOM) ? text.slice(BOM.length) : text;
  const lines = body.split('\n');
  const prefix = dir === '' ? '' : escapeDirectory(dir);
  const rules: RootRule[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const raw = lines[i] as string;
    if (raw === '' || raw.startsWith('#')) continue;
    const original = trimTrailingSpaces(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
    const negative = original.startsWith('!');
    const rule = negative ? original.slice(1) : original;
    const dirOnly = rule.endsWith('/');
    const core = dirOnly ? rule.slice(0, -1) : rule;
    // git keeps such lines, but an empty pattern matches nothing.
    if (core === '') continue;
    let pattern: string;
    if (prefix === '') {
      pattern = original;
    } else {
      const anchored = core.includes('/');
      const tail = anchored ? `/${core.startsWith('/') ? core.slice(1) : core}` : `/**/${core}`;
      pattern = `${negative ? '!' : ''}${prefix}${tail}${dirOnly ? '/' : ''}`;
    }
    rules.push({ pattern, original, line: i + 1 });
  }
  return rules;
}

/** Drops unescaped trailing spaces (not tabs), as git's `trim_trailing_spaces`. */
export function trimTrailingSpaces(line: string): string {
  let lastSpace = -1;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (c === ' ') {
      if (lastSpace === -1) lastSpace = i;
    } else if (c === '\\') {
      i += 1;
      if (i >= line.length) return line;
      lastSpace = -1;
    } else {
      lastSpace = -1;
    }
  }
  return lastSpace === -1 ? line : line.slice(0, lastSpace);
}

/** A directory path made literal inside a gitignore pattern. */
function escapeDirectory(dir: string): string {
  const escaped = dir.replace(/[\\*?[]/g, '\\$&');
  return escaped.startsWith('!') || escaped.startsWith('#') ? `\\${escaped}` : escaped;
}
