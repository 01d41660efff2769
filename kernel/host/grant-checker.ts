/**
 * The checks the airlocks run against a capsule's grant, and the limits they apply, without
 * the grant's schema: the capsule worker loads this file alone, so that a worker boots
 * without valibot and the modules behind the schemas.
 */
import { ErrorCode, KernelError } from '../errors/index.ts';
import type { CapsuleGrant } from './grant.ts';
import type { FsCaller } from './services.ts';

/** Hard caps on what the host reads from a capsule before it allocates anything. */
export const AirlockLimits = {
  subjectBytes: 256,
  subjectTokens: 16,
  keyBytes: 4096,
  valueBytes: 10 * 1024 * 1024,
  payloadBytes: 10 * 1024 * 1024,
  logBytes: 64 * 1024,
  idBytes: 128,
  pollMax: 1024,
  logLinesPerCall: 1000,
} as const;

const TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * Splits a subject or pattern into tokens, or returns null when it is not well formed:
 * empty, too long, empty tokens, whitespace, or (when `wildcards` is false) `*` or `>`.
 * `>` may only be the last token. Rules are NATS's, as the bus uses them.
 */
export function subjectTokens(text: string, wildcards: boolean): string[] | null {
  if (text.length === 0 || Buffer.byteLength(text) > AirlockLimits.subjectBytes) return null;
  const tokens = text.split('.');
  if (tokens.length > AirlockLimits.subjectTokens) return null;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (t === '*' || t === '>') {
      if (!wildcards || (t === '>' && i !== tokens.length - 1)) return null;
    } else if (!TOKEN.test(t)) {
      return null;
    }
  }
  return tokens;
}

/**
 * Whether every subject matched by `inner` is also matched by `outer` (both valid patterns).
 * A concrete subject is a pattern without wildcards, so this also answers "does `outer`
 * match this subject".
 */
export function patternCovers(outer: readonly string[], inner: readonly string[]): boolean {
  for (let i = 0; i < outer.length; i++) {
    const o = outer[i];
    const n = inner[i];
    if (n === undefined) return false;
    if (o === '>') return true;
    if (n === '>') return false;
    if (o !== '*' && o !== n) return false;
  }
  return outer.length === inner.length;
}

/**
 * A grant compiled for fast checks. Every `check*` method throws `KernelError`
 * `CAPABILITY_DENIED` (or `SUBJECT_INVALID` / `PATTERN_INVALID` for malformed input).
 */
export class GrantChecker {
  readonly #capsuleId: string;
  readonly #publish: string[][];
  readonly #subscribe: string[][];
  readonly #kvRead: boolean;
  readonly #kvWrite: boolean;
  readonly #env: ReadonlySet<string>;
  /** Who the capsule is for the file airlocks: its id and manifest fs grants. */
  readonly fsCaller: FsCaller;

  constructor(capsuleId: string, grant: CapsuleGrant) {
    this.fsCaller = Object.freeze({ capsuleId, grants: Object.freeze(grant.fs.map((g) => Object.freeze({ path: g.path, rights: [...g.rights] }))) });
    this.#capsuleId = capsuleId;
    const tokens = (p: string): string[] => subjectTokens(p, true) ?? [];
    this.#publish = grant.ipc.publish.map(tokens);
    this.#subscribe = grant.ipc.subscribe.map(tokens);
    this.#kvWrite = grant.kv.includes('write');
    this.#kvRead = this.#kvWrite || grant.kv.includes('read');
    this.#env = new Set(grant.env);
  }

  /** Checks that `subject` is concrete, well formed, and inside a publish pattern. */
  checkPublish(subject: string): void {
    const tokens = subjectTokens(subject, false);
    if (tokens === null) {
      throw new KernelError(ErrorCode.SubjectInvalid, `Cannot publish to "${subject}" as it is not a valid subject`);
    }
    if (!this.#publish.some((p) => patternCovers(p, tokens))) {
      throw this.#denied(`publish to "${subject}"`, 'no ipc publish pattern matches it');
    }
  }

  /** Checks that `pattern` is well formed and narrower than (or equal to) a subscribe pattern. */
  checkSubscribe(pattern: string): void {
    const tokens = subjectTokens(pattern, true);
    if (tokens === null) {
      throw new KernelError(ErrorCode.PatternInvalid, `Cannot subscribe to "${pattern}" as it is not a valid pattern`);
    }
    if (!this.#subscribe.some((p) => patternCovers(p, tokens))) {
      throw this.#denied(`subscribe to "${pattern}"`, 'no ipc subscribe pattern covers it');
    }
  }

  /** Checks KV read (or write) access to the capsule's own namespace. */
  checkKv(write: boolean): void {
    if (write ? !this.#kvWrite : !this.#kvRead) {
      throw this.#denied(write ? 'write KV' : 'read KV', `the grant has no kv "${write ? 'write' : 'read'}"`);
    }
  }

  /** Checks that `key` is a declared `[env]` key. */
  checkConfig(key: string): void {
    if (!this.#env.has(key)) throw this.#denied(`read config "${key}"`, 'it is not a declared env key');
  }

  #denied(action: string, why: string): KernelError {
    return new KernelError(ErrorCode.CapabilityDenied, `Cannot ${action} as capsule "${this.#capsuleId}" lacks the capability: ${why}`, {
      details: { capsuleId: this.#capsuleId },
    });
  }
}
