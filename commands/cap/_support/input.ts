import * as v from 'valibot';
import { RightsSchema, type Right } from '../../../kernel/caps/index.ts';
import { ErrorCode, KernelError } from '../../../kernel/errors/index.ts';
import { readStdinBytes } from '../../_support/stdin.ts';

/**
 * Parses `--rights read,list` into a non-empty list of known rights.
 * @throws KernelError INVALID_ARGUMENT naming the first unknown right
 */
export function parseRights(text: string): Right[] {
  const parts = text.split(',').map((r) => r.trim()).filter((r) => r !== '');
  const parsed = v.safeParse(RightsSchema, parts);
  if (!parsed.success) {
    const bad = parts.find((r) => !v.is(RightsSchema, [r]));
    const why = bad === undefined ? 'it names no right' : `"${bad}" is not a right`;
    throw new KernelError(ErrorCode.InvalidArgument, `Cannot use rights "${text}" as ${why}: expected read, write, list, create or delete`, {
      details: { rights: text },
    });
  }
  return parsed.output;
}

/** Reads a handle argument; `-` reads it from stdin, so it need not appear in the process list. */
export async function readHandle(arg: string): Promise<string> {
  if (arg !== '-') return arg;
  return (await readStdinBytes()).toString('utf8').trim();
}

/** An expiry (ms epoch) as ISO 8601, printed beside the number for people. */
export function expiryIso(expiresAt: number): string {
  return new Date(expiresAt).toISOString();
}
