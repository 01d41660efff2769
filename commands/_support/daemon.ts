import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, KernelError, isKernelError } from '../../kernel/errors/index.ts';
import { homeLayout } from '../../kernel/home/index.ts';
import { connectSocket } from '../../kernel/ipc/index.ts';
import { RemoteKernel, type KernelStatus } from '../../kernel/service/index.ts';

/** The status of the process serving the home's socket, or null when nothing serves it. */
export async function probeOwner(home: string): Promise<KernelStatus | null> {
  const client = await connectSocket(homeLayout(home).socket, { timeoutMs: 2_000 }).catch((error: unknown) => {
    if (isKernelError(error, ErrorCode.ConnectionLost)) return null;
    throw error;
  });
  if (client === null) return null;
  await using kernel = new RemoteKernel(client);
  try {
    return await kernel.status();
  } catch (error) {
    if (isKernelError(error, ErrorCode.ConnectionLost)) return null;
    throw error;
  }
}

/** Asks the owner of the home to hand it over (only following commands agree). */
export async function requestHandover(home: string): Promise<boolean> {
  const client = await connectSocket(homeLayout(home).socket, { timeoutMs: 2_000 }).catch(() => null);
  if (client === null) return false;
  await using kernel = new RemoteKernel(client);
  try {
    await kernel.handover();
    return true;
  } catch (error) {
    if (isKernelError(error, ErrorCode.DaemonAlreadyRunning)) throw error;
    return false;
  }
}

/** Waits until process `pid` has exited, up to `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(20);
  }
  return false;
}

/** The error for a second daemon on one home. */
export function alreadyRunning(status: KernelStatus): KernelError {
  return new KernelError(ErrorCode.DaemonAlreadyRunning, `Cannot start a daemon as daemon pid ${status.pid} already owns "${status.home}"`, {
    details: { pid: status.pid },
  });
}
