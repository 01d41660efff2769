export { connectSocket, type CallOptions, type ConnectSocketOptions, type RpcClient, type StreamOptions } from './client.ts';
export { MAX_FRAME_BYTES } from './frames.ts';
export { OwnerRoleSchema, PROTOCOL_VERSION, type OwnerRole, type ServerInfo } from './messages.ts';
export {
  acquireOwnerLock,
  OwnerInfoSchema,
  readOwnerInfo,
  waitForOwnerLock,
  type AcquireOwnerLockOptions,
  type OwnerInfo,
  type OwnerLock,
  type WaitForOwnerLockOptions,
} from './owner-lock.ts';
export type { RpcContext, RpcHandler } from './server-connection.ts';
export { serveSocket, type CloseServerOptions, type RpcServer, type ServeSocketOptions } from './server.ts';
