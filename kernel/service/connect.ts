import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { homeLayout, readHome } from '../home/index.ts';
import { acquireOwnerLock, connectSocket, readOwnerInfo, type OwnerInfo } from '../ipc/index.ts';
import { silentLogger, type Logger } from '../logger/index.ts';
import type { Materializer, ProjectionDefinition } from '../projection/index.ts';
import type { KernelApi } from './api.ts';
import { isRetryableLoss, reconnectingKernel } from './reconnecting-kernel.ts';
import { RemoteKernel } from './remote-kernel.ts';

/** What an owner boots with. */
export interface KernelParts {
  readonly projections: readonly ProjectionDefinition[];
  readonly materializers?: readonly Materializer[];
}

/** Options of {@link connectKernel}. */
export interface ConnectOptions {
  /**
   * The projections and materializers to boot with, loaded only if this process becomes the
   * owner: a client of a running owner never loads them (nor LMDB).
   */
  readonly parts: () => Promise<KernelParts>;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  /** Called once when another process is opening or closing the home and we must wait. */
  readonly onWait?: (holder: OwnerInfo | null) => void;
  /** This command only follows the log and will give the home up to a daemon that asks. */
  readonly yieldable?: boolean;
  /** For this long only a running owner's socket is tried (after a handover, let the daemon in). */
  readonly remoteOnlyMs?: number;
}

/**
 * Gives a command the kernel of `home`, the same interface either way: the running owner
 * over its socket when there is one, otherwise this process takes the owner lock and opens
 * the home itself (serving its socket to others until closed). While another process holds
 * the lock without serving yet (it is starting or stopping), it waits. A call the owner
 * refused because it was leaving is sent again the same way (see `reconnectingKernel`).
 * @throws KernelError HOME_NOT_INITIALIZED, HOME_INVALID, PROTOCOL_MISMATCH, ABORTED via signal
 */
export async function connectKernel(home: string, options: ConnectOptions): Promise<KernelApi> {
  const first = await connectOnce(home, options);
  return reconnectingKernel(first, () => connectOnce(home, options));
}

async function connectOnce(home: string, options: ConnectOptions): Promise<KernelApi> {
  await readHome(home);
  const socket = homeLayout(home).socket;
  const started = Date.now();
  const tryLock = () => acquireOwnerLock(home, { role: 'command', ...(options.signal === undefined ? {} : { signal: options.signal }) });
  let waited = false;
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    // An owner that is leaving may drop us mid-handshake: then look again.
    const client = await connectSocket(socket, options.signal === undefined ? {} : { signal: options.signal }).catch((error: unknown) => {
      // So may a starved owner that does not answer the hello in time: look again, and wait.
      if (isRetryableLoss(error) || isKernelError(error, ErrorCode.Timeout)) return null;
      throw error;
    });
    if (client !== null) return new RemoteKernel(client);
    const lock = Date.now() - started < (options.remoteOnlyMs ?? 0) ? null : await tryLock();
    if (lock !== null) {
      // Loaded only when this process becomes the owner: a client of a daemon never loads LMDB.
      const [{ bootOwner }, parts] = await Promise.all([import('../boot.ts'), options.parts()]);
      const owner = await bootOwner({
        home, role: 'command', lock, projections: parts.projections, materializers: parts.materializers ?? [],
        logger: options.logger ?? silentLogger, yieldable: options.yieldable === true,
      });
      return owner.kernel;
    }
    // Starting or stopping owners hold the lock briefly; only a real wait is worth a message.
    if (!waited && Date.now() - started > 250) {
      waited = true;
      options.onWait?.(await readOwnerInfo(home));
    }
    await sleep(Math.min(5 + attempt * 5, 100), undefined, options.signal === undefined ? {} : { signal: options.signal });
  }
}
