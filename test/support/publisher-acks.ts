import * as v from 'valibot';

/** The KV namespace the publisher child writes. */
export const CRASH_NAMESPACE = 'crash';

const Seq = v.pipe(v.number(), v.safeInteger(), v.minValue(1));
const Tag = v.object({ run: v.string(), n: v.pipe(v.number(), v.safeInteger(), v.minValue(0)) });

/** One acknowledged write, as the publisher child reports it after its promise resolved. */
export const AckSchema = v.variant('op', [
  v.object({ op: v.literal('pub'), seq: Seq, subject: v.string(), payload: v.object({ ...Tag.entries, pad: v.string() }) }),
  v.object({ op: v.literal('set'), seq: Seq, key: v.string(), value: Tag }),
  v.object({ op: v.literal('del'), seq: Seq, key: v.string(), tag: Tag }),
  v.object({ op: v.literal('route'), seq: Seq, role: v.string(), capsuleId: v.string() }),
]);

/** One acknowledged write of the publisher child. */
export type Ack = v.InferOutput<typeof AckSchema>;

/** A write the child tried that failed (it should never happen under load). */
export const FailureSchema = v.object({ code: v.string(), message: v.string() });

/**
 * What one stdout line of the publisher child says: `L` (loaded, waiting for a line on
 * stdin), `S` (about to open the home),
 * `R <mode>` (the kernel is open), `A <ack json>` or `F <failure json>`.
 */
export type ChildLine =
  | { readonly kind: 'loaded' }
  | { readonly kind: 'starting' }
  | { readonly kind: 'ready'; readonly mode: string }
  | { readonly kind: 'ack'; readonly ack: Ack }
  | { readonly kind: 'failure'; readonly code: string; readonly message: string };

/** Parses one stdout line of the publisher child. @throws Error on a line it cannot have printed */
export function parseChildLine(line: string): ChildLine {
  if (line === 'L') return { kind: 'loaded' };
  if (line === 'S') return { kind: 'starting' };
  if (line.startsWith('R ')) return { kind: 'ready', mode: line.slice(2) };
  if (line.startsWith('A ')) return { kind: 'ack', ack: v.parse(AckSchema, JSON.parse(line.slice(2))) };
  if (line.startsWith('F ')) return { kind: 'failure', ...v.parse(FailureSchema, JSON.parse(line.slice(2))) };
  throw new Error(`Cannot parse publisher child line ${JSON.stringify(line.slice(0, 200))}`);
}
