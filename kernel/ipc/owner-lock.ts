import { createHash, randomBytes } from 'node:crypto';
import { readFile, realpath, rename, unlink, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import * as v from 'valibot';
import { ErrorCode, KernelError } from '../errors/index.ts';
import { OwnerRoleSchema, type OwnerRole } from './messages.ts';
import { ensurePrivateDir, ownerInfoPath, ownerSocketPath, runDir } from './run-dir.ts';

/** The owner record `<home>/run/owner.json`, as written by the lock holder. */
export const OwnerInfoSchema = v.object({
  pid: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  role: OwnerRoleSchema,
  startedAt: v.pipe(v.string(), v.isoTimestamp()),
  socket: v.pipe(v.string(), v.minLength(1)),
});
/** Who holds a home's owner lock: pid, role, when it took the lock, and its RPC socket path. */
export type OwnerInfo = v.InferOutput<typeof OwnerInfoSchema>;

/**
 * A held owner lock. While it is held no other process can take it; the kernel drops it when
 * this process exits, even on SIGKILL, so it never goes stale. It does not keep the process
 * alive by itself.
 *
 * `close()` removes `owner.json` and releases the lock; it is idempotent, never throws, and is
 * what `await using` calls.
 */
export interface OwnerLock extends AsyncDisposable {
  /** The real path of the locked home. */
  readonly home: string;
  /** What was recorded in `owner.json`. */
  readonly info: OwnerInfo;
  /** True once `close()` was called. */
  readonly released: boolean;
  /** Releases the lock (idempotent). */
  close(): Promise<void>;
}

/** Options of {@link acquireOwnerLock}. */
export interface AcquireOwnerLockOptions {
  readonly role: OwnerRole;
  /** The RPC socket path to record; defaults to `<home>/run/kernel.sock`. */
  readonly socket?: string;
  readonly signal?: AbortSignal;
}

/** Options of {@link waitForOwnerLock}. */
export interface WaitForOwnerLockOptions extends AcquireOwnerLockOptions {
  /** Called once, when the first attempt finds the lock held, with the holder (null if unknown yet). */
  readonly onWait?: (holder: OwnerInfo | null) => void;
}

/**
 * Throws KernelError UNSUPPORTED unless `platform` is Linux. The lock relies on Linux abstract
 * unix sockets; macOS and Windows need another mechanism (a lock file plus a pid check), not
 * built yet.
 */
export function assertOwnerLockSupported(platform: string = process.platform): void {
  if (platform !== 'linux') {
    throw new KernelError(
      ErrorCode.Unsupported,
      `Cannot lock a home on "${platform}" as owner locks need Linux abstract sockets`,
      { details: { platform } },
    );
  }
}

/**
 * Tries once to become the owner of `home`, without waiting: resolves the lock, or null when
 * another process (or another lock in this process) holds it. Then records the holder in
 * `<home>/run/owner.json` (atomically; `run/` is created with mode 0700).
 *
 * The lock is a listening abstract unix socket named after the SHA-256 of the home's real path,
 * so two spellings of one home share one lock. Caveats: it is per network namespace, and any
 * local user who can guess the name could squat on it (denial of service only; the RPC socket
 * itself lives in the private `run/` directory).
 *
 * Throws KernelError UNSUPPORTED off Linux, HOME_NOT_INITIALIZED when `home` does not exist,
 * HOME_INVALID when `run/` is unusable, or `signal.reason` when aborted (the lock is released).
 */
export async function acquireOwnerLock(home: string, options: AcquireOwnerLockOptions): Promise<OwnerLock | null> {
  assertOwnerLockSupported();
  options.signal?.throwIfAborted();
  const realHome = await resolveHome(home);
  const server = await listenAbstract(lockName(realHome));
  if (server === null) return null;
  const info: OwnerInfo = {
    pid: process.pid,
    role: options.role,
    startedAt: new Date().toISOString(),
    socket: options.socket ?? ownerSocketPath(realHome),
  };
  const lock = new HeldOwnerLock(realHome, info, server);
  try {
    await writeOwnerInfo(realHome, info);
    options.signal?.throwIfAborted();
  } catch (error) {
    await lock.close();
    throw error;
  }
  return lock;
}

/**
 * Becomes the owner of `home`, waiting as long as another process holds it: polls with a
 * backoff from 10 ms to 250 ms and calls `onWait(holder)` once, on the first failed attempt,
 * so a CLI can say "waiting for pid N (role) to release the home".
 *
 * Throws what {@link acquireOwnerLock} throws; honours `signal` while waiting (rethrows its
 * reason). Use `AbortSignal.timeout(ms)` to bound the wait.
 */
export async function waitForOwnerLock(home: string, options: WaitForOwnerLockOptions): Promise<OwnerLock> {
  let delayMs = 10;
  let warned = false;
  for (;;) {
    const lock = await acquireOwnerLock(home, options);
    if (lock !== null) return lock;
    if (!warned) {
      warned = true;
      options.onWait?.(await readOwnerInfo(home));
    }
    await sleep(delayMs, options.signal);
    delayMs = Math.min(delayMs * 2, 250);
  }
}

/**
 * Reads who owns `home`: its `owner.json` when the lock is held by a live process, else null
 * (no home, lock free, record missing or unreadable, or the recorded pid is gone). The record
 * is a hint for messages and for finding the socket; the lock, not the file, is the truth.
 *
 * Throws KernelError UNSUPPORTED off Linux.
 */
export async function readOwnerInfo(home: string): Promise<OwnerInfo | null> {
  assertOwnerLockSupported();
  let realHome: string;
  try {
    realHome = await realpath(home);
  } catch {
    return null;
  }
  if (!(await isListening(lockName(realHome)))) return null;
  let text: string;
  try {
    text = await readFile(ownerInfoPath(realHome), 'utf8');
  } catch {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = v.safeParse(OwnerInfoSchema, json);
  if (!parsed.success || !isAlive(parsed.output.pid)) return null;
  return parsed.output;
}

class HeldOwnerLock implements OwnerLock {
  readonly home: string;
  readonly info: OwnerInfo;
  readonly #server: Server;
  #closing: Promise<void> | null = null;

  constructor(home: string, info: OwnerInfo, server: Server) {
    this.home = home;
    this.info = info;
    this.#server = server;
  }

  get released(): boolean {
    return this.#closing !== null;
  }

  close(): Promise<void> {
    this.#closing ??= this.#release();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #release(): Promise<void> {
    // Remove the record first: while the lock is held, nobody else writes it.
    await unlink(ownerInfoPath(this.home)).catch(() => undefined);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

async function resolveHome(home: string): Promise<string> {
  try {
    return await realpath(home);
  } catch (error) {
    throw new KernelError(ErrorCode.HomeNotInitialized, `Cannot lock "${home}" as it does not exist`, {
      cause: error,
      details: { home },
    });
  }
}

function lockName(realHome: string): string {
  return `\0astrid-owner-${createHash('sha256').update(realHome).digest('hex')}`;
}

/** Listens on an abstract socket name: the server, or null when the name is taken. */
function listenAbstract(name: string): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    // The lock serves nothing: connections (such as isListening probes) are dropped at once.
    const server = createServer((socket) => socket.destroy());
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(null);
      else reject(new KernelError(ErrorCode.Internal, 'Cannot take the owner lock as listening failed', { cause: error }));
    });
    server.listen({ path: name }, () => {
      server.on('error', () => undefined); // nothing can fail once listening; never crash on it
      server.unref();
      resolve(server);
    });
  });
}

function isListening(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path: name });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function writeOwnerInfo(realHome: string, info: OwnerInfo): Promise<void> {
  await ensurePrivateDir(runDir(realHome));
  const target = ownerInfoPath(realHome);
  const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(info)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new KernelError(ErrorCode.HomeInvalid, `Cannot record the owner in "${target}"`, {
      cause: error,
      details: { path: target, errno: (error as NodeJS.ErrnoException).code ?? null },
    });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
