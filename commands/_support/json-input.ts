import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';

/**
 * Parses a JSON value given on the command line.
 * @throws KernelError PAYLOAD_INVALID naming what was being read
 */
export function parseJsonArg(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new KernelError(ErrorCode.PayloadInvalid, `Cannot read ${what} as it is not valid JSON: ${reason}`, { cause });
  }
}
