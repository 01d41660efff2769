import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bus } from '../bus/index.ts';
import { compilePattern } from '../bus/index.ts';
import { CAPSULES_PROJECTION, capsulesDir, installedCapsuleOf, listInstalled, type InstalledCapsuleEntry } from '../capsule/installed/index.ts';
import { loadManifest, mergedCapabilities, type CapsuleManifest } from '../capsule/manifest/index.ts';
import { ErrorCode, KernelError, isKernelError } from '../errors/index.ts';
import type { CapabilityVerifier } from '../caps/index.ts';
import { grantPath, type CapsuleFilesOptions, type SessionFiles } from '../host/fs/index.ts';
import type { CapsuleHost, CapsuleInstance } from '../host/index.ts';
import { REVOCATIONS_PROJECTION } from '../vfs/overlay/index.ts';
import type { EventLog } from '../log/index.ts';
import type { Logger } from '../logger/index.ts';
import { DELIVERIES_PROJECTION, deliveryKey, type DeliveryCursor } from './deliveries.ts';
import { KernelHostServices } from './host-services.ts';
import { KeyedSerial } from '../concurrency/index.ts';

interface Loaded {
  readonly installed: InstalledCapsuleEntry;
  readonly manifest: CapsuleManifest;
  readonly instances: Map<string, CapsuleInstance>;
  readonly stop: AbortController;
  readonly loops: Promise<void>[];
}

/**
 * Runs installed capsules inside the owner: loads their WebAssembly components on demand into
 * the capsule host, serializes calls per capsule, and (when `deliver` is set: a daemon or
 * `astrid run`) delivers bus messages to their `[[handler]]` functions in log order. A
 * handler's effects and its cursor are appended as one unit, so a restart resumes after the
 * last message whose effects were recorded and never re-runs one that finished.
 */
export class CapsuleRuntime implements AsyncDisposable {
  readonly #log: EventLog;
  readonly #home: string;
  readonly #logger: Logger;
  readonly #deliver: boolean;
  readonly #services: KernelHostServices;
  readonly #bus: Bus;
  readonly #loaded = new Map<string, Loaded>();
  readonly #locks = new KeyedSerial();
  #host: CapsuleHost | null = null;
  #off: (() => void) | null = null;
  #syncing: Promise<void> = Promise.resolve();
  #closed = false;

  readonly #ready: () => Promise<void>;

  constructor(
    log: EventLog,
    bus: Bus,
    options: {
      home: string;
      logger: Logger;
      deliver: boolean;
      /** Resolves once capsule files are materialised. */
      ready?: () => Promise<void>;
      /** The VFS sessions and the kernel's capability verifier: with both, capsules get the `astrid_fs_*` airlocks. */
      files?: { sessions: SessionFiles; verifier: () => Promise<CapabilityVerifier> };
    },
  ) {
    this.#ready = options.ready ?? (async () => {});
    this.#log = log;
    this.#bus = bus;
    this.#home = options.home;
    this.#logger = options.logger;
    this.#deliver = options.deliver;
    this.#services = new KernelHostServices(log, bus, {
      logger: options.logger.child('capsule'),
      envDefaults: (id) => {
        const env = this.#loaded.get(id)?.manifest.env ?? {};
        return Object.fromEntries(Object.entries(env).map(([k, e]) => [k, e.default]));
      },
      ...(options.files === undefined ? {} : { files: this.#filesOptions(options.files) }),
    });
  }

  #filesOptions(files: { sessions: SessionFiles; verifier: () => Promise<CapabilityVerifier> }): CapsuleFilesOptions {
    return {
      sessions: files.sessions,
      verify: async (handle, capsuleId) => {
        const checker = await files.verifier();
        const revoked = this.#log.projection(REVOCATIONS_PROJECTION);
        return checker.verify(handle, { capsuleId, now: Date.now(), isRevoked: (id) => revoked.get(id) !== undefined });
      },
      installedDir: (capsuleId) => (this.#loaded.has(capsuleId) ? join(capsulesDir(this.#home), capsuleId) : null),
    };
  }

  /** With `deliver`, starts every installed capsule's handlers and follows installs and removals. */
  async start(): Promise<void> {
    if (!this.#deliver) return;
    this.#off = this.#log.onAppended((last, types) => {
      if (last > 0 && (types.has('capsule.installed') || types.has('capsule.removed'))) void this.sync();
    });
    await this.sync();
  }

  /** Brings running capsules in line with the installed ones (after the files are materialised). */
  sync(): Promise<void> {
    this.#syncing = this.#syncing.then(async () => {
      await this.#ready();
      if (this.#closed) return;
      const installed = new Map(listInstalled(this.#log.projection(CAPSULES_PROJECTION)).map((c) => [c.capsuleId, c]));
      for (const [id, loaded] of this.#loaded) {
        if (installed.get(id)?.archive !== loaded.installed.archive) await this.#unload(id);
      }
      for (const capsule of installed.values()) {
        if (this.#loaded.has(capsule.capsuleId)) continue;
        try {
          await this.#load(capsule);
        } catch (error) {
          this.#logger.error('capsule failed to start', { capsuleId: capsule.capsuleId, code: isKernelError(error) ? error.code : 'INTERNAL', message: String(error) });
        }
      }
    });
    return this.#syncing;
  }

  /**
   * Calls an exported function of an installed capsule and returns its output. Its effects
   * are recorded in the log as one unit when it returns.
   * @throws KernelError CAPSULE_NOT_FOUND, WASM_EXPORT_MISSING, CAPSULE_TRAPPED, CAPSULE_TIMEOUT, CAPSULE_MEMORY_EXCEEDED, CAPABILITY_DENIED
   */
  async call(capsuleId: string, fn: string, input: Uint8Array | string, options: { component?: string } = {}): Promise<Uint8Array> {
    const loaded = await this.#ensure(capsuleId);
    const instance = await this.#instance(loaded, options.component ?? null);
    return this.#locks.run(capsuleId, () => instance.call(fn, input));
  }

  /** Stops every handler and closes the host. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#off?.();
    await this.#syncing.catch(() => undefined);
    for (const id of [...this.#loaded.keys()]) await this.#unload(id);
    await this.#host?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #ensure(capsuleId: string): Promise<Loaded> {
    await this.#ready();
    const existing = this.#loaded.get(capsuleId);
    if (existing !== undefined) return existing;
    const stored = this.#log.projection(CAPSULES_PROJECTION).get(capsuleId);
    if (stored === undefined) throw new KernelError(ErrorCode.CapsuleNotFound, `Cannot call capsule "${capsuleId}" as it is not installed`, { details: { capsuleId } });
    return this.#load(installedCapsuleOf(capsuleId, stored));
  }

  async #load(capsule: InstalledCapsuleEntry): Promise<Loaded> {
    const dir = join(capsulesDir(this.#home), capsule.capsuleId);
    const manifest = await loadManifest(dir);
    if (manifest === null) throw new KernelError(ErrorCode.CapsuleInvalid, `Cannot start capsule "${capsule.capsuleId}" as its files are missing`);
    const limits = manifest.limits ?? {};
    this.#bus.quotas.setPolicy(`capsule:${capsule.capsuleId}`, {
      ...(limits.publish_payload_bytes === undefined ? {} : { maxPayloadBytes: limits.publish_payload_bytes, bytesBurst: Math.max(limits.publish_payload_bytes, 64 * 1024 * 1024) }),
      ...(limits.publish_msgs_per_sec === undefined ? {} : { messagesPerSecond: limits.publish_msgs_per_sec, messagesBurst: limits.publish_msgs_per_sec }),
      ...(limits.subscriptions === undefined ? {} : { maxSubscriptions: limits.subscriptions }),
    });
    const loaded: Loaded = { installed: capsule, manifest, instances: new Map(), stop: new AbortController(), loops: [] };
    this.#loaded.set(capsule.capsuleId, loaded);
    if (this.#deliver) {
      for (const handler of manifest.handler ?? []) loaded.loops.push(this.#deliverLoop(loaded, handler));
    }
    return loaded;
  }

  async #unload(capsuleId: string): Promise<void> {
    const loaded = this.#loaded.get(capsuleId);
    if (loaded === undefined) return;
    this.#loaded.delete(capsuleId);
    loaded.stop.abort();
    await Promise.allSettled(loaded.loops);
    for (const instance of loaded.instances.values()) await instance.close();
  }

  async #instance(loaded: Loaded, componentId: string | null): Promise<CapsuleInstance> {
    const { manifest } = loaded;
    const component = (manifest.component ?? []).find((c) => c.wasm !== undefined && (componentId === null || c.id === componentId));
    if (component?.wasm === undefined) {
      throw new KernelError(ErrorCode.CapsuleInvalid, `Cannot call capsule "${manifest.package.name}" as it has no WebAssembly component${componentId === null ? '' : ` "${componentId}"`}`);
    }
    const cached = loaded.instances.get(component.id);
    if (cached !== undefined) return cached;
    const caps = mergedCapabilities(manifest, component.id);
    const wasm = await readFile(join(capsulesDir(this.#home), manifest.package.name, component.wasm));
    const limits = manifest.limits ?? {};
    const memoryBytes = limits.memory_bytes ?? (limits.memory_pages === undefined ? undefined : limits.memory_pages * 65_536);
    this.#host ??= await this.#createHost();
    const instance = await this.#host.load({
      capsuleId: manifest.package.name,
      wasm,
      grant: {
        ipc: { publish: [...(caps?.ipc_publish ?? [])], subscribe: [...(caps?.ipc_subscribe ?? [])] },
        kv: caps === null || caps.kv === false || (Array.isArray(caps.kv) && caps.kv.length === 0) ? [] : ['read', 'write'],
        fs: (caps?.fs ?? []).map((g) => ({ path: grantPath(g.path), rights: [...g.rights] })),
        env: Object.keys(manifest.env ?? {}),
      },
      limits: { ...(limits.call_timeout_ms === undefined ? {} : { timeoutMs: limits.call_timeout_ms }), ...(memoryBytes === undefined ? {} : { memoryBytes }) },
    });
    loaded.instances.set(component.id, instance);
    return instance;
  }

  async #createHost(): Promise<CapsuleHost> {
    // Loaded on first use: most commands never run WebAssembly.
    const { createCapsuleHost } = await import('../host/index.ts');
    return createCapsuleHost({ services: this.#services, logger: this.#logger });
  }

  async #deliverLoop(loaded: Loaded, handler: NonNullable<CapsuleManifest['handler']>[number]): Promise<void> {
    const capsuleId = loaded.manifest.package.name;
    const name = `${handler.function}:${handler.subject}`;
    const matches = compilePattern(handler.subject);
    const cursor = this.#log.projection(DELIVERIES_PROJECTION).get(deliveryKey(capsuleId, name)) as DeliveryCursor | undefined;
    const from = Math.max(cursor?.seq ?? 0, loaded.installed.seq) + 1;
    const signal = loaded.stop.signal;
    try {
      for await (const event of this.#log.follow({ from, signal })) {
        if (event.type !== 'bus.message.published' || event.subject === undefined || !matches(event.subject)) continue;
        if (event.source === `capsule:${capsuleId}`) continue; // a capsule never handles its own messages
        const input = JSON.stringify({ seq: event.seq, id: event.id, subject: event.subject, source: event.source, payload: (event.data as { payload: unknown }).payload });
        await this.#locks.run(capsuleId, () => this.#deliverOne(loaded, handler, name, event.seq, input));
        if (signal.aborted) return;
      }
    } catch (error) {
      if (!signal.aborted && !this.#closed) this.#logger.error('handler loop stopped', { capsuleId, handler: name, message: String(error) });
    }
  }

  async #deliverOne(loaded: Loaded, handler: NonNullable<CapsuleManifest['handler']>[number], name: string, seq: number, input: string): Promise<void> {
    const capsuleId = loaded.manifest.package.name;
    const consumed = this.#services.expectDelivery(capsuleId, { handler: name, seq });
    const source = `capsule:${capsuleId}`;
    try {
      const instance = await this.#instance(loaded, handler.component ?? null);
      await instance.call(handler.function, input);
      if (!consumed()) {
        await this.#log.append([{ type: 'capsule.delivery.completed', v: 1, source, data: { capsuleId, handler: name, seq } }]);
      }
    } catch (error) {
      consumed();
      if (this.#closed || loaded.stop.signal.aborted) return;
      const code = isKernelError(error) ? error.code : ErrorCode.Internal;
      const message = (error instanceof Error ? error.message : String(error)).slice(0, 2048);
      this.#logger.warn('handler failed', { capsuleId, handler: name, seq, code });
      await this.#log.append([{ type: 'capsule.delivery.failed', v: 1, source, data: { capsuleId, handler: name, seq, code, message } }]);
    }
  }
}
