import { ErrorCode, KernelError } from '../errors/index.ts';
import { silentLogger, type Logger } from '../logger/index.ts';
import { CapsuleInstance, type CapsuleLimits } from './capsule-instance.ts';
import { parseGrant, type CapsuleGrantInput } from './grant.ts';
import type { HostServices } from './services.ts';
import { ModuleCache, WASM_PAGE } from './wasm-module.ts';
import { WorkerPool } from './worker-pool.ts';

/** Defaults for `limits`: 10 s per call, 10 s to instantiate, 64 MiB of linear memory. */
export const DEFAULT_LIMITS: CapsuleLimits = { timeoutMs: 10_000, startTimeoutMs: 10_000, memoryBytes: 64 * 1024 * 1024 };

/** Options of {@link createCapsuleHost}. */
export interface CapsuleHostOptions {
  /** The kernel behind the airlocks. */
  readonly services: HostServices;
  readonly logger?: Logger;
  /** Booted idle workers kept ready for fast loads and recycling (default 1). */
  readonly spareWorkers?: number;
}

/** What `host.load()` needs. */
export interface LoadOptions {
  readonly capsuleId: string;
  readonly wasm: Uint8Array;
  /** The capsule's capabilities; omitted fields allow nothing. */
  readonly grant?: CapsuleGrantInput;
  readonly limits?: Partial<CapsuleLimits>;
  /** Functions the module must export (`WASM_EXPORT_MISSING` otherwise). */
  readonly exports?: readonly string[];
}

/** Runs capsules: see {@link createCapsuleHost}. */
export interface CapsuleHost extends AsyncDisposable {
  /**
   * Checks, caps and compiles the module (once per digest and memory cap), then starts an
   * instance in its own worker. Errors: `WASM_INVALID`, `WASM_IMPORT_DENIED`,
   * `WASM_EXPORT_MISSING`, `CAPSULE_MEMORY_EXCEEDED` (initial memory above the cap),
   * `CAPSULE_INVALID` (bad grant or limits), `CAPSULE_CLOSED` (host closed).
   */
  load(options: LoadOptions): Promise<CapsuleInstance>;
  /** Resolves once the spare workers are booted, so the next load starts fast. */
  ready(): Promise<void>;
  /** The instances currently open. */
  readonly instances: ReadonlySet<CapsuleInstance>;
  /** Closes every instance and spare worker. Idempotent. */
  close(): Promise<void>;
}

function checkLimits(capsuleId: string, limits: Partial<CapsuleLimits> | undefined): CapsuleLimits {
  const merged = { ...DEFAULT_LIMITS, ...limits };
  const ok = (n: number, min: number): boolean => Number.isSafeInteger(n) && n >= min;
  if (!ok(merged.timeoutMs, 1) || !ok(merged.startTimeoutMs, 1) || !ok(merged.memoryBytes, WASM_PAGE)) {
    throw new KernelError(ErrorCode.CapsuleInvalid, `Cannot load capsule "${capsuleId}" as its limits are invalid: timeouts must be ≥ 1 ms and memoryBytes ≥ ${WASM_PAGE}`);
  }
  return merged;
}

/**
 * Creates the capsule host: the only part of the kernel that runs WebAssembly. Each
 * instance runs Extism (foreground mode) inside a worker thread the host owns, so a runaway
 * call can be preempted by terminating the worker; see {@link CapsuleInstance} for the call
 * contract and what happens to a failed call's effects. Close with `close()` or
 * `await using`: it closes every instance and terminates every worker.
 */
export function createCapsuleHost(options: CapsuleHostOptions): CapsuleHost {
  const logger = (options.logger ?? silentLogger).child('host');
  const modules = new ModuleCache();
  const pool = new WorkerPool(options.spareWorkers ?? 1);
  const instances = new Set<CapsuleInstance>();
  let closing: Promise<void> | null = null;

  return {
    instances,
    ready: () => pool.ready(),
    async load(load: LoadOptions): Promise<CapsuleInstance> {
      if (closing !== null) throw new KernelError(ErrorCode.CapsuleClosed, `Cannot load capsule "${load.capsuleId}" as the host is closed`);
      const grant = parseGrant(load.capsuleId, load.grant ?? {});
      const limits = checkLimits(load.capsuleId, load.limits);
      const compiled = await modules.get(load.wasm, Math.floor(limits.memoryBytes / WASM_PAGE), load.exports ?? []);
      const instance = new CapsuleInstance({
        capsuleId: load.capsuleId,
        compiled,
        grant,
        limits,
        services: options.services,
        logger,
        pool,
        onClose: (i) => instances.delete(i),
      });
      instances.add(instance);
      try {
        await instance.start();
      } catch (error) {
        await instance.close();
        throw error;
      }
      logger.debug('capsule loaded', { capsuleId: load.capsuleId, digest: compiled.digest });
      return instance;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        await Promise.all([...instances].map((i) => i.close()));
        await pool.close();
        modules.clear();
      })();
      return closing;
    },
    async [Symbol.asyncDispose](): Promise<void> {
      await this.close();
    },
  };
}
