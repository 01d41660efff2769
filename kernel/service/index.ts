export {
  MAX_READ,
  type BusMessage,
  type CapabilityRequest,
  type CapsuleInstallReceipt,
  type KernelApi,
  type KernelStatus,
  type MintedCapability,
  type OutgoingMessage,
  type OwnerRole,
  type ProjectionPage,
  type PublishReceipt,
  type ReplayProgress,
  type ReplayResult,
  type StreamOptions,
} from './api.ts';
export { connectKernel, type ConnectOptions, type KernelParts } from './connect.ts';
export { LocalKernel } from './local-kernel.ts';
export { RemoteKernel, type RpcChannel } from './remote-kernel.ts';
export { kernelHandler } from './ops.ts';
