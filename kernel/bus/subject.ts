import * as v from 'valibot';
import { ErrorCode, KernelError } from '../errors/index.ts';

/*
 * One subject syntax everywhere, NATS's (design.md §2):
 * - a subject is 1 to 32 dot-separated tokens, at most 256 bytes in all;
 * - a token is one or more of `A-Z a-z 0-9 _ - :`. The colon is allowed because tool names
 *   of the form `server:tool` travel as tokens (`tool.v1.execute.server:tool`); NATS accepts
 *   it too. Everything else is refused, which keeps every subject valid for NATS: no
 *   whitespace, no control characters, no `$` (NATS reserves `$SYS`, `$JS`), no non-ASCII;
 * - in a pattern a token may also be `*` (exactly one token) or `>` (one or more remaining
 *   tokens, only as the last token). A `*` or `>` inside a longer token is refused rather than
 *   read as a literal, since NATS would read `a*` literally but most people would not.
 * Token positions in messages and details are 1-based.
 */

/** Most tokens a subject or pattern may have. */
export const MAX_SUBJECT_TOKENS = 32;
/** Most bytes a subject or pattern may have (all valid subjects are ASCII). */
export const MAX_SUBJECT_BYTES = 256;

const DOT = 0x2e;
const STAR = 0x2a;
const GT = 0x3e;

interface Problem {
  readonly reason: string;
  /** 1-based token position, when the problem is inside one token. */
  readonly token: number | null;
}

// 1 for a byte allowed in a token, 0 otherwise; indexed by char code (< 128).
const TOKEN_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  TOKEN_CHAR[c] = /[A-Za-z0-9_:-]/.test(ch) ? 1 : 0;
}

function describeChar(code: number): string {
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code <= 0x20 || code === 0x7f || (code >= 0x80 && code <= 0x9f) || /\s/.test(String.fromCharCode(code))) {
    return `whitespace or a control character (${hex})`;
  }
  return `the character "${String.fromCodePoint(code)}" (${hex})`;
}

// Fast acceptance of valid input (V8 runs these several times faster than the loop below);
// anything they refuse goes through findProblem for a precise reason.
const T = '[A-Za-z0-9_:-]+';
const W = `(?:${T}|\\*)`;
const SUBJECT_RE = new RegExp(`^${T}(?:\\.${T}){0,${MAX_SUBJECT_TOKENS - 1}}$`);
const PATTERN_RE = new RegExp(`^(?:>|${W}(?:\\.${W}){0,${MAX_SUBJECT_TOKENS - 1}}|${W}(?:\\.${W}){0,${MAX_SUBJECT_TOKENS - 2}}\\.>)$`);

function valid(s: string, wildcards: boolean): boolean {
  return s.length <= MAX_SUBJECT_BYTES && (wildcards ? PATTERN_RE : SUBJECT_RE).test(s);
}

/** Returns null when `s` is valid, else what is wrong. One pass, no allocation on success. */
function findProblem(s: string, wildcards: boolean): Problem | null {
  if (valid(s, wildcards)) return null;
  const len = s.length;
  if (len === 0) return { reason: 'it is empty', token: null };
  // UTF-8 never has fewer bytes than UTF-16 code units, so this bound is exact for refusals.
  if (len > MAX_SUBJECT_BYTES) {
    return { reason: `it is ${Buffer.byteLength(s)} bytes long: the limit is ${MAX_SUBJECT_BYTES}`, token: null };
  }
  let token = 1;
  let start = 0;
  for (let i = 0; i <= len; i++) {
    const c = i === len ? DOT : s.charCodeAt(i);
    if (c === DOT) {
      if (i === start) return { reason: `token ${token} is empty`, token };
      if (i < len) {
        token++;
        start = i + 1;
      }
      continue;
    }
    if (c < 128 && TOKEN_CHAR[c] === 1) continue;
    if (c === STAR || c === GT) {
      const whole = i === start && (i + 1 === len || s.charCodeAt(i + 1) === DOT);
      if (!wildcards) {
        return whole
          ? { reason: `token ${token} is the wildcard "${s[i]}": a subject names one destination, only a pattern may hold wildcards`, token }
          : { reason: `token ${token} contains "${s[i]}": wildcards are not allowed in a subject`, token };
      }
      if (!whole) return { reason: `token ${token} contains "${s[i]}": a wildcard must be a whole token`, token };
      if (c === GT && i + 1 !== len) return { reason: `token ${token} is ">" but ">" may only be the last token`, token };
      continue;
    }
    const code = s.codePointAt(i) ?? c;
    return { reason: `token ${token} contains ${describeChar(code)}: only letters, digits, "_", "-" and ":" are allowed`, token };
  }
  if (token > MAX_SUBJECT_TOKENS) return { reason: `it has ${token} tokens: the limit is ${MAX_SUBJECT_TOKENS}`, token: null };
  return null;
}

function quote(s: string): string {
  const shown = s.length > 80 ? `${s.slice(0, 80)}…` : s;
  return JSON.stringify(shown);
}

function fail(code: typeof ErrorCode.SubjectInvalid | typeof ErrorCode.PatternInvalid, s: unknown, problem: Problem): never {
  const what = code === ErrorCode.SubjectInvalid ? 'subject' : 'pattern';
  const shown = typeof s === 'string' ? quote(s) : `a value of type "${s === null ? 'null' : typeof s}"`;
  throw new KernelError(code, `Cannot use ${shown} as a ${what} as ${problem.reason}`, {
    details: { [what]: typeof s === 'string' ? s.slice(0, MAX_SUBJECT_BYTES) : null, token: problem.token, reason: problem.reason },
  });
}

const NOT_STRING: Problem = { reason: 'it is not a string', token: null };

/** valibot schema for a publish subject (no wildcards); output is branded `Subject`. */
export const SubjectSchema = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = findProblem(dataset.value, false);
    if (problem !== null) addIssue({ message: `Invalid subject: ${problem.reason}` });
  }),
  v.brand('Subject'),
);

/** valibot schema for a subscription pattern (`*` and `>` allowed); output is branded `SubjectPattern`. */
export const SubjectPatternSchema = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = findProblem(dataset.value, true);
    if (problem !== null) addIssue({ message: `Invalid pattern: ${problem.reason}` });
  }),
  v.brand('SubjectPattern'),
);

/** A valid publish subject, such as `agent.v1.response`. Obtain one with {@link parseSubject}. */
export type Subject = v.InferOutput<typeof SubjectSchema>;
/** A valid subscription pattern, such as `tool.v1.execute.*.result` or `llm.>`. */
export type SubjectPattern = v.InferOutput<typeof SubjectPatternSchema>;

/**
 * Checks a publish subject and returns it branded.
 * @throws KernelError SUBJECT_INVALID saying what is wrong and in which token (1-based);
 *   details: `subject`, `token` (number or null), `reason`.
 */
export function parseSubject(s: string): Subject {
  if (typeof s !== 'string') fail(ErrorCode.SubjectInvalid, s, NOT_STRING);
  const problem = findProblem(s, false);
  if (problem !== null) fail(ErrorCode.SubjectInvalid, s, problem);
  return s as Subject;
}

/**
 * Checks a subscription pattern and returns it branded.
 * @throws KernelError PATTERN_INVALID saying what is wrong and in which token (1-based);
 *   details: `pattern`, `token` (number or null), `reason`.
 */
export function parsePattern(s: string): SubjectPattern {
  if (typeof s !== 'string') fail(ErrorCode.PatternInvalid, s, NOT_STRING);
  const problem = findProblem(s, true);
  if (problem !== null) fail(ErrorCode.PatternInvalid, s, problem);
  return s as SubjectPattern;
}

/** Whether `s` is a valid publish subject. Never throws. */
export function isSubject(s: unknown): s is Subject {
  return typeof s === 'string' && findProblem(s, false) === null;
}

/** Whether `s` is a valid subscription pattern (every subject is also a pattern). Never throws. */
export function isPattern(s: unknown): s is SubjectPattern {
  return typeof s === 'string' && findProblem(s, true) === null;
}

/**
 * Whether `subject` matches `pattern`: a literal token matches itself, `*` exactly one token,
 * `>` one or more remaining tokens. Walks both strings once without allocating; for repeated
 * matching against one pattern prefer {@link compilePattern}. Both arguments must be valid
 * (as their brands promise); for other strings the answer is unspecified. Never throws.
 */
export function matchSubject(pattern: SubjectPattern, subject: Subject): boolean {
  const pl = pattern.length;
  const sl = subject.length;
  let p = 0;
  let s = 0;
  while (p < pl) {
    if (s >= sl) return false; // the pattern has more tokens than the subject
    const c = pattern.charCodeAt(p);
    if (c === GT && p + 1 === pl) return true; // `>` as last token: at least one token is left
    if (c === STAR && (p + 1 === pl || pattern.charCodeAt(p + 1) === DOT)) {
      p++;
      const dot = subject.indexOf('.', s);
      s = dot === -1 ? sl : dot;
    } else {
      while (p < pl) {
        const pc = pattern.charCodeAt(p);
        if (pc === DOT) break;
        if (s >= sl || subject.charCodeAt(s) !== pc) return false;
        p++;
        s++;
      }
      if (s < sl && subject.charCodeAt(s) !== DOT) return false; // subject token is longer
    }
    // both are now at a dot or at their end
    if (p < pl) p++;
    if (s < sl) s++;
    else if (p < pl) return false;
  }
  return s >= sl;
}

/** A precompiled pattern: whether a valid subject matches. Never throws. */
export type SubjectMatcher = (subject: string) => boolean;

const matchAll: SubjectMatcher = (subject) => subject.length > 0;

/**
 * Compiles a pattern into a matcher for the hot path (every event for every subscriber on
 * replay). Literal patterns become one string comparison, `prefix.>` a prefix test, and
 * patterns with `*` an anchored regular expression. The matcher expects a valid subject (as
 * stored in the log); for other strings its answer is unspecified, and it never throws.
 * @throws KernelError PATTERN_INVALID when `pattern` is a string that is not a valid pattern.
 */
export function compilePattern(pattern: string): SubjectMatcher {
  const p = parsePattern(pattern);
  const tokens = p.split('.');
  const last = tokens.length - 1;
  const tail = tokens[last] === '>';
  const body = tail ? tokens.slice(0, last) : tokens;
  if (!body.includes('*')) {
    if (!tail) return (subject) => subject === p;
    if (body.length === 0) return matchAll;
    const prefix = `${body.join('.')}.`;
    const min = prefix.length; // at least one character after the dot
    return (subject) => subject.length > min && subject.startsWith(prefix);
  }
  // With `*`: a regex, which V8 runs several times faster than a token walk in JS. Tokens of a
  // valid pattern hold no regex metacharacters, and `[^.]+` cannot backtrack past a dot.
  const source = body.map((t) => (t === '*' ? '[^.]+' : t)).join('\\.');
  const re = new RegExp(tail ? `^${source}\\..` : `^${source}$`);
  return (subject) => re.test(subject);
}
