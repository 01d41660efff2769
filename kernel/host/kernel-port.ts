import { ErrorCode, KernelError, isKernelError, type WireError } from '../errors/index.ts';
import type { Logger } from '../logger/index.ts';
import type { GrantChecker } from './grant.ts';
import type { OpenFiles } from './open-files.ts';
import type { BridgeRequest } from './protocol.ts';
import type { CallEffects, CapsuleLogLevel, HostServices } from './services.ts';

/** The wire form of any error: a `KernelError` as is, anything else as a bare INTERNAL. */
export function toWire(error: unknown): WireError {
  if (isKernelError(error)) return error.toJSON();
  return { code: ErrorCode.Internal, message: 'Cannot complete the host call as the kernel failed internally' };
}

/**
 * The main-thread side of one capsule's airlocks: it checks the grant again (the worker's
 * check is for a fast answer, this one is authoritative), calls {@link HostServices}, and
 * commits a successful call's effects. Subscriptions are owned per worker generation.
 */
export class KernelPort {
  readonly #capsuleId: string;
  readonly #services: HostServices;
  readonly #checker: GrantChecker;
  readonly #logger: Logger;

  constructor(capsuleId: string, services: HostServices, checker: GrantChecker, logger: Logger) {
    this.#capsuleId = capsuleId;
    this.#services = services;
    this.#checker = checker;
    this.#logger = logger;
  }

  /**
   * Answers one bridge request; `owned` holds the generation's subscription ids, `files` the
   * current call's open files.
   */
  async answer(request: BridgeRequest, owned: Set<string>, isDead: () => boolean, files: OpenFiles): Promise<unknown> {
    const services = this.#services;
    const id = this.#capsuleId;
    const caller = this.#checker.fsCaller;
    switch (request.op) {
      case 'fsOpen': {
        if (request.mode !== 'r' && request.mode !== 'w') {
          throw new KernelError(ErrorCode.InvalidArgument, `Cannot open "${request.path}" with mode "${request.mode}": expected "r" or "w"`);
        }
        const file = await services.fsOpen(caller, request.handle, request.path, request.mode);
        if (isDead()) {
          await file.abandon();
          throw new KernelError(ErrorCode.CapsuleClosed, 'Cannot open a file for a call that has ended');
        }
        return { fd: files.add(file), size: file.size };
      }
      case 'fsRead':
        return files.get(request.fd).read(request.max);
      case 'fsWrite':
        files.get(request.fd).write(request.bytes);
        return request.bytes.byteLength;
      case 'fsClose':
        return files.take(request.fd).close();
      case 'fsStat':
        return services.fsStat(caller, request.handle, request.path);
      case 'fsReaddir':
        return [...(await services.fsReaddir(caller, request.handle, request.path))];
      case 'fsMkdir':
        await services.fsMkdir(caller, request.handle, request.path);
        return null;
      case 'fsRemove':
        await services.fsRemove(caller, request.handle, request.path);
        return null;
      case 'fsRename':
        await services.fsRename(caller, request.handle, request.from, request.to);
        return null;
      case 'kvGet':
        this.#checker.checkKv(false);
        return services.kvGet(id, request.key);
      case 'kvList':
        this.#checker.checkKv(false);
        return [...(await services.kvList(id, request.prefix))];
      case 'configGet':
        this.#checker.checkConfig(request.key);
        return services.configGet(id, request.key);
      case 'ipcSubscribe': {
        this.#checker.checkSubscribe(request.pattern);
        const sid = await services.ipcSubscribe(id, request.pattern);
        owned.add(sid);
        // A late answer for a recycled generation: nobody can use this subscription.
        if (isDead()) this.dropSubscriptions(owned);
        return sid;
      }
      case 'ipcUnsubscribe':
        if (!owned.delete(request.id)) return false;
        return services.ipcUnsubscribe(id, request.id);
      case 'ipcPoll':
        if (!owned.has(request.id)) {
          throw new KernelError(ErrorCode.NotFound, `Cannot poll subscription "${request.id}" as capsule "${id}" has no such subscription`);
        }
        return services.ipcPoll(id, request.id, request.max);
    }
  }

  /** Reports a failure of the kernel itself (not an expected `KernelError`). */
  noteFailure(request: BridgeRequest, error: unknown): void {
    if (!isKernelError(error)) this.#logger.error('host service failed', { capsuleId: this.#capsuleId, op: request.op, error: String(error) });
  }

  /**
   * Commits the effects of a successful call: through `commit()` when the port has it,
   * else kvSet/kvDelete/ipcPublish in order, all issued in this turn, then awaited.
   */
  async commit(effects: CallEffects): Promise<void> {
    if (effects.kv.length === 0 && effects.published.length === 0) return;
    if (effects.kv.length > 0) this.#checker.checkKv(true);
    for (const p of effects.published) this.#checker.checkPublish(p.subject);
    const services = this.#services;
    const id = this.#capsuleId;
    if (services.commit !== undefined) {
      await services.commit(id, effects);
      return;
    }
    const ops: Promise<unknown>[] = [];
    for (const w of effects.kv) {
      ops.push(Promise.resolve(w.value === null ? services.kvDelete(id, w.key) : services.kvSet(id, w.key, w.value)));
    }
    for (const p of effects.published) ops.push(Promise.resolve(services.ipcPublish(id, p.subject, p.payloadJson)));
    await Promise.all(ops);
  }

  /** Closes every subscription in `owned` (failures are logged) and empties it. */
  dropSubscriptions(owned: Set<string>): void {
    for (const sid of owned) {
      Promise.resolve()
        .then(() => this.#services.ipcUnsubscribe(this.#capsuleId, sid))
        .catch((error: unknown) => this.#logger.warn('unsubscribe failed', { capsuleId: this.#capsuleId, error: String(error) }));
    }
    owned.clear();
  }

  /** Forwards one capsule log line; a failing logger never fails the capsule. */
  log(level: CapsuleLogLevel, message: string): void {
    try {
      this.#services.log(this.#capsuleId, level, message);
    } catch (error) {
      this.#logger.warn('capsule log line dropped', { capsuleId: this.#capsuleId, error: String(error) });
    }
  }
}
