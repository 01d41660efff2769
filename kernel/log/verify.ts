import { GENESIS_HASH } from '../events/index.ts';
import { sha256Hex, splitRecord } from './record.ts';

/** The outcome of walking the hash chain. */
export interface VerifyReport {
  readonly ok: boolean;
  readonly checked: number;
  readonly head: number;
  /** The first seq that failed, and why; null when the chain is intact. */
  readonly firstBad: { readonly seq: number; readonly reason: string } | null;
}

/**
 * Walks records in key order and checks: keys are gapless from 1, each body parses and
 * names its own seq, its `prev` is the previous hash, and its hash is the SHA-256 of the body.
 */
export function verifyRecords(
  records: Iterable<{ key: number; value: string }>,
  head: number,
  onProgress?: (p: { seq: number; head: number }) => void,
): VerifyReport {
  let expected = 1;
  let prev = GENESIS_HASH;
  let checked = 0;
  const bad = (seq: number, reason: string): VerifyReport => ({ ok: false, checked, head, firstBad: { seq, reason } });
  for (const { key, value } of records) {
    if (key !== expected) return bad(expected, `seq ${expected} is missing (next stored is ${key})`);
    const { hash, body } = splitRecord(value);
    if (sha256Hex(body) !== hash) return bad(key, 'hash does not match the stored event');
    let parsed: { seq?: unknown; prev?: unknown };
    try {
      parsed = JSON.parse(body) as { seq?: unknown; prev?: unknown };
    } catch {
      return bad(key, 'body is not valid JSON');
    }
    if (parsed.seq !== key) return bad(key, `body names seq ${String(parsed.seq)}`);
    if (parsed.prev !== prev) return bad(key, 'prev does not match the previous event hash');
    prev = hash;
    expected++;
    checked++;
    if (onProgress !== undefined && checked % 10_000 === 0) onProgress({ seq: key, head });
  }
  return { ok: true, checked, head, firstBad: null };
}
