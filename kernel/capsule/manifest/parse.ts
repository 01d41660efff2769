import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TomlError, parse } from 'smol-toml';
import * as v from 'valibot';
import { ErrorCode, KernelError } from '../../errors/index.ts';
import { CapsuleManifestSchema, type CapsuleManifest } from './schema.ts';

/** The manifest's file name at the root of a capsule directory or archive. */
export const MANIFEST_FILE_NAME = 'Capsule.toml';

/** The largest manifest accepted, in bytes. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** Options of {@link parseManifest} and {@link validateManifest}. */
export interface ParseManifestOptions {
  /** Where the text came from, named in error messages (a file path, `archive:Capsule.toml`…). */
  readonly source?: string;
}

type Issue = v.BaseIssue<unknown>;

type PathItem = v.IssuePathItem;

function keyPath(path: readonly PathItem[]): string {
  let out = '';
  for (const item of path) {
    const key: unknown = item.key;
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z0-9_-]+$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(root)' : out;
}

// A union reports one issue with each branch's issues inside, their paths relative to the
// union's; the branch issue that reaches deepest says the most.
function leaf(issue: Issue): { issue: Issue; path: PathItem[] } {
  let current = issue;
  const path = [...(issue.path ?? [])];
  for (;;) {
    const deeper = (current.issues ?? []).reduce<Issue | undefined>(
      (best, candidate) => ((candidate.path?.length ?? 0) > (best?.path?.length ?? 0) ? candidate : best),
      undefined,
    );
    if (deeper?.path === undefined || deeper.path.length === 0) return { issue: current, path };
    path.push(...deeper.path);
    current = deeper;
  }
}

const NOUNS: Readonly<Record<string, string>> = {
  Object: 'a table',
  Array: 'an array',
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
};

function shown(received: string): string | null {
  if (!/^("|-?\d|true$|false$)/.test(received)) return null;
  return received.length > 80 ? `${received.slice(0, 77)}...` : received;
}

/** One issue as `key "x" is …: expected …`, the tail of every MANIFEST_INVALID message. */
function describe(issue: Issue): { key: string; text: string } {
  const { issue: deepest, path } = leaf(issue);
  const key = keyPath(path);
  if (deepest.type === 'strict_object' && deepest.expected === 'never') {
    return { key, text: `key "${key}" is unknown` };
  }
  if (deepest.received === 'undefined') return { key, text: `key "${key}" is missing` };
  const expected = deepest.message.startsWith('expected')
    ? deepest.message
    : `expected ${NOUNS[deepest.expected ?? ''] ?? deepest.expected ?? 'another value'}`;
  const received = shown(deepest.received);
  return { key, text: `key "${key}" is invalid: ${expected}${received === null ? '' : `, received ${received}`}` };
}

function invalid(source: string, text: string, details: Record<string, string | number>, cause?: unknown): KernelError {
  return new KernelError(ErrorCode.ManifestInvalid, `Cannot load manifest "${source}" as ${text}`, {
    details: { source, ...details },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Validates already-parsed TOML data against {@link CapsuleManifestSchema}.
 * Throws KernelError MANIFEST_INVALID naming the first offending key path (such as
 * `component[1].wasm`) and what was expected; `details.key` holds that path and `details.all`
 * every problem. Pure; never throws anything else.
 */
export function validateManifest(data: unknown, options: ParseManifestOptions = {}): CapsuleManifest {
  const source = options.source ?? MANIFEST_FILE_NAME;
  const result = v.safeParse(CapsuleManifestSchema, data);
  if (result.success) return result.output;
  const problems = result.issues.map(describe);
  const [first] = problems;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  const all = problems.map((problem) => problem.text).join('; ');
  throw invalid(source, `${first?.text ?? 'it is invalid'}${more}`, {
    key: first?.key ?? '(root)',
    problems: problems.length,
    all: all.length > 4000 ? `${all.slice(0, 3997)}...` : all,
  });
}

/**
 * Parses `Capsule.toml` text (smol-toml) and validates it (valibot, strict tables).
 * Throws KernelError MANIFEST_INVALID: on TOML syntax errors with `details.line` and
 * `details.column` (1-based) in the message, on unsafe keys (`__proto__`, `constructor`), on text
 * over {@link MAX_MANIFEST_BYTES}, and on every schema problem (see {@link validateManifest}).
 * Pure; never throws anything else.
 */
export function parseManifest(text: string, options: ParseManifestOptions = {}): CapsuleManifest {
  const source = options.source ?? MANIFEST_FILE_NAME;
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) {
    throw invalid(source, `it is larger than ${MAX_MANIFEST_BYTES} bytes`, {});
  }
  let data: unknown;
  try {
    data = parse(text, { unsafeKeyBehaviour: 'throw', maxDepth: 64 });
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'syntax error';
      throw invalid(
        source,
        `its TOML is invalid at line ${error.line}, column ${error.column}: ${reason}`,
        { line: error.line, column: error.column },
        error,
      );
    }
    throw invalid(source, 'its TOML cannot be parsed', {}, error);
  }
  return validateManifest(data, { source });
}

/**
 * Reads and parses `<dir>/Capsule.toml`. Returns null when the directory has no such file (an
 * expected absence: the directory is not a capsule). Throws KernelError MANIFEST_INVALID when the
 * file is not readable as a file, too large, not UTF-8, or invalid (see {@link parseManifest}).
 */
export async function loadManifest(dir: string): Promise<CapsuleManifest | null> {
  const file = join(dir, MANIFEST_FILE_NAME);
  let bytes: Buffer;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw invalid(file, 'it is not a regular file', {});
    if (info.size > MAX_MANIFEST_BYTES) throw invalid(file, `it is larger than ${MAX_MANIFEST_BYTES} bytes`, {});
    bytes = await readFile(file);
  } catch (error) {
    if (error instanceof KernelError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw invalid(file, `it cannot be read (${code ?? 'unknown error'})`, {}, error);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw invalid(file, 'it is not valid UTF-8', {}, error);
  }
  return parseManifest(text, { source: file });
}
