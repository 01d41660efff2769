import type { ErrorCode } from './codes.ts';

/** JSON-safe context of an error; it may be logged and cross the socket, so never secrets. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null>>;

/** The wire form of an error: what `--json` prints and what crosses the kernel socket. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: ErrorDetails;
}

const brand = Symbol.for('astrid.KernelError');

/**
 * The one error class Astrid throws on purpose. Callers branch on `code`, never on
 * `message`; use {@link isKernelError}, which also holds across two copies of the module.
 */
export class KernelError extends Error {
  override name = 'KernelError';
  readonly [brand] = true;
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** The wire form: no stack, no cause chain. */
  toJSON(): WireError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds an error received in wire form (from the kernel socket). */
  static fromWire(wire: WireError): KernelError {
    return new KernelError(wire.code, wire.message, wire.details === undefined ? {} : { details: wire.details });
  }
}

/** Brand check for a {@link KernelError}, optionally with a given code. */
export function isKernelError(error: unknown, code?: ErrorCode): error is KernelError {
  return (
    typeof error === 'object' &&
    error !== null &&
    brand in error &&
    (code === undefined || (error as KernelError).code === code)
  );
}
