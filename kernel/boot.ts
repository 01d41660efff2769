import { Bus } from './bus/bus.ts';
import { loadOrCreateKernelKey, verifierSource } from './caps/index.ts';
import { ErrorCode, KernelError } from './errors/index.ts';
import { homeLayout, readHome } from './home/index.ts';
import { serveSocket, type OwnerLock, type RpcServer } from './ipc/index.ts';
import { openEventLog, type EventLog } from './log/index.ts';
import { silentLogger, type Logger } from './logger/index.ts';
import type { Materializer, ProjectionDefinition } from './projection/index.ts';
import type { CapsuleRuntime } from './runtime/index.ts';
import { MaterializerRunner } from './service/materializer-runner.ts';
import type { OwnerRole } from './service/api.ts';
import { LocalKernel } from './service/local-kernel.ts';
import { kernelHandler } from './service/ops.ts';
import { UploadStore } from './service/uploads.ts';
import { VFS_PROJECTION, VfsService } from './vfs/overlay/index.ts';

/** Options of {@link bootOwner}. */
export interface BootOptions {
  readonly home: string;
  readonly role: OwnerRole;
  /** The held owner lock; the owner releases it when it closes. */
  readonly lock: OwnerLock;
  readonly projections: readonly ProjectionDefinition[];
  /** Mirror projections onto files under the home (capsule trees, …). */
  readonly materializers?: readonly Materializer[];
  readonly logger?: Logger;
  /** Serve the home's socket so other processes can use this owner (default true). */
  readonly serve?: boolean;
  /** Deliver bus messages to capsule handlers (a daemon, `astrid run`); default: only for a daemon. */
  readonly deliver?: boolean;
  /** A command owner that only follows the log may hand the home over to a daemon. */
  readonly yieldable?: boolean;
}

/**
 * The process that owns a home: it holds the owner lock, is the only opener of the LMDB
 * environment, and serves every other process over the home's socket. Closing it stops
 * serving (in-flight calls finish), closes the log, then releases the lock, in that order.
 */
export interface Owner extends AsyncDisposable {
  readonly kernel: LocalKernel;
  readonly log: EventLog;
  /** Resolves when a client asked a daemon to stop (`astrid daemon stop`). */
  readonly stopRequested: Promise<void>;
  close(): Promise<void>;
}

/**
 * The composition root of the kernel: opens the log of an initialized home (creating it on
 * first use and recording `home.initialized`), wires the bus and projections, and serves the
 * socket. The caller must hold the owner lock.
 * @throws KernelError HOME_NOT_INITIALIZED, HOME_INVALID, LOG_FORMAT_UNSUPPORTED
 */
export async function bootOwner(options: BootOptions): Promise<Owner> {
  const logger = options.logger ?? silentLogger;
  const closers: Array<() => Promise<void>> = [() => options.lock.close()];
  const closeAll = async (): Promise<void> => {
    while (closers.length > 0) {
      const close = closers.pop();
      try {
        await close?.();
      } catch (error) {
        logger.error('shutdown step failed', { message: String(error) });
      }
    }
  };
  try {
    const marker = await readHome(options.home);
    const layout = homeLayout(options.home);
    const log = await openEventLog({
      path: layout.log,
      create: { origin: marker.origin },
      projections: options.projections,
      logger: logger.child('log'),
    });
    closers.push(() => log.close());
    if (log.head().seq === 0) {
      await log.append([{ type: 'home.initialized', v: 1, source: 'kernel', data: { origin: marker.origin, format: marker.format } }]);
    }
    if (log.origin !== marker.origin) {
      throw new KernelError(ErrorCode.HomeInvalid, `Cannot use the home as its log belongs to host "${log.origin}" and the home to "${marker.origin}"`);
    }
    const runner = new MaterializerRunner(log, options.materializers ?? [], { home: options.home, logger: logger.child('materialize') });
    await runner.start();
    closers.push(() => runner.close());
    const bus = new Bus(log);
    // One VFS service and one kernel key for the kernel API and the capsules' file airlocks.
    const vfs = new VfsService({
      state: () => log.projection(VFS_PROJECTION),
      blob: (digest) => log.getBlob(digest),
      append: async (events) => {
        const appended = await log.append(events);
        await runner.idle();
        return appended;
      },
    });
    let key: Promise<Buffer> | null = null;
    const kernelKey = (): Promise<Buffer> => {
      key ??= loadOrCreateKernelKey(options.home);
      key.catch(() => (key = null));
      return key;
    };
    // One verifier, so the kernel API and the airlocks share its cache of checked handles.
    const verifier = verifierSource(kernelKey);
    // The capsule host is loaded when capsules run: at boot for a delivering owner, else at
    // the first capsule call (a command that only reads KV never loads it).
    const deliver = options.deliver ?? options.role === 'daemon';
    let started: Promise<CapsuleRuntime> | null = null;
    const runtime = (): Promise<CapsuleRuntime> =>
      (started ??= import('./runtime/index.ts').then(async ({ CapsuleRuntime }) => {
        const created = new CapsuleRuntime(log, bus, {
          home: options.home,
          logger: logger.child('runtime'),
          deliver,
          ready: () => runner.idle(),
          files: { sessions: vfs, verifier },
        });
        await created.start();
        return created;
      }));
    closers.push(async () => {
      const running = await started?.catch(() => null);
      await running?.close();
    });
    if (deliver) await runtime();
    let closing: Promise<void> | null = null;
    const close = (): Promise<void> => (closing ??= closeAll());
    let requestStop: () => void = () => {};
    const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
    const kernel = new LocalKernel(log, bus, {
      role: options.role,
      home: options.home,
      projections: options.projections,
      materialized: () => runner.idle(),
      runtime,
      vfs,
      kernelKey,
      verifier,
      ...(options.role === 'daemon' ? { onShutdown: () => requestStop() } : { onClose: close }),
      ...(options.role === 'command' && options.yieldable === true ? { onHandover: () => void close() } : {}),
    });
    let server: RpcServer | null = null;
    if (options.serve !== false) {
      const uploads = new UploadStore(layout.uploads);
      await uploads.sweep();
      server = await serveSocket(layout.socket, kernelHandler(kernel, { uploads }), { logger: logger.child('socket'), role: options.role });
      const s = server;
      closers.push(() => s.close({ graceMs: 5_000 }));
    }
    return { kernel, log, stopRequested, close, [Symbol.asyncDispose]: close };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
