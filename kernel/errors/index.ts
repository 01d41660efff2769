export { ErrorCode } from './codes.ts';
export { KernelError, isKernelError, type ErrorDetails, type WireError } from './kernel-error.ts';
