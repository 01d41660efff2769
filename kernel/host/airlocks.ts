/**
 * The airlocks: host functions a capsule imports from `extism:host/user`. They run inside
 * the capsule's worker, synchronously. Arguments are Extism memory handles (i64) to UTF-8
 * text; every airlock returns a handle to a JSON result, `{"ok":true,"value":V}` or
 * `{"ok":false,"code":C,"message":M}` with a stable error code, so the guest SDK can surface
 * coded errors. `astrid_kv_get_into` is the in-place twin of `astrid_kv_get` (see
 * `guest-memory.ts`): pointers into the capsule's linear memory, a compact result, no Extism
 * block. ABI misuse (a non-handle, a dangling handle, a range outside memory, a wrong
 * argument type) is not answered: it aborts the call with `CAPSULE_TRAPPED`.
 *
 * Effects are buffered per call: KV writes go to an overlay that later reads in the same
 * call see, publications to a queue; both are handed to the main thread only when the call
 * returns successfully. Reads the overlay cannot answer, subscriptions and polls cross to
 * the main thread through the synchronous bridge.
 */
import type { CallContext } from '@extism/extism';
import { ErrorCode, KernelError } from '../errors/index.ts';
import { LEVELS, abi, airlock, checked, readKey, readText, type HostFn } from './abi.ts';
import { fsAirlocks } from './fs-airlocks.ts';
import { AirlockLimits, type GrantChecker } from './grant-checker.ts';
import { InPlaceStatus, guestKey, guestRange, inPlace, writeResult } from './guest-memory.ts';
import type { BridgeRequest } from './protocol.ts';
import type { CapsuleLogLevel, IpcBatch, IpcPublication } from './services.ts';

/** The buffered state of the call in progress. */
export interface CallState {
  /** Key → value written by this call (null: deleted), in first-write order. */
  readonly overlay: Map<string, string | null>;
  /** Values read from the kernel during this call: a call reads a stable snapshot of each key. */
  readonly cache: Map<string, string | null>;
  /** The current value of keys read in place, UTF-8 encoded; dropped when the key is written. */
  readonly encoded: Map<string, Uint8Array | null>;
  readonly config: Map<string, string | null>;
  readonly published: IpcPublication[];
  /** Bytes of Extism memory the guest allocated during this call. */
  allocated: number;
  logLines: number;
}

/** A fresh, empty call state. */
export function newCallState(): CallState {
  return { overlay: new Map(), cache: new Map(), encoded: new Map(), config: new Map(), published: [], allocated: 0, logLines: 0 };
}

const encoder = new TextEncoder();

/** What the airlocks need from the worker that hosts them. */
export interface AirlockEnv {
  readonly capsuleId: string;
  readonly checker: GrantChecker;
  /** Budget of Extism memory per call, in bytes. */
  readonly memoryBytes: number;
  state(): CallState;
  /** The capsule's linear memory as it is now; traps (ABI misuse) when the module exports none. */
  memory(): Uint8Array;
  /** Asks the main thread synchronously; throws the `KernelError` it answered with. */
  request(request: BridgeRequest): unknown;
  log(level: CapsuleLogLevel, message: string): void;
}

function batchJson(batch: IpcBatch): string {
  const items = batch.messages.map(
    (m) => `{"seq":${m.seq},"subject":${JSON.stringify(m.subject)},"source":${JSON.stringify(m.source)},"payload":${m.payloadJson}}`,
  );
  return `{"messages":[${items.join(',')}]}`;
}

/**
 * Builds the host functions for one capsule worker: the airlocks under `extism:host/user`
 * and, under `extism:host/env`, an `alloc` that charges the guest's Extism allocations to
 * the call's memory budget (`CAPSULE_MEMORY_EXCEEDED` when it is spent).
 */
export function createHostFunctions(env: AirlockEnv): Record<string, Record<string, HostFn>> {
  const { checker } = env;

  const kvRead = (key: string): string | null => {
    const st = env.state();
    const written = st.overlay.get(key);
    if (written !== undefined) return written;
    const cached = st.cache.get(key);
    if (cached !== undefined) return cached;
    const value = env.request({ op: 'kvGet', key }) as string | null;
    st.cache.set(key, value);
    return value;
  };
  const kvReadEncoded = (key: string): Uint8Array | null => {
    const encoded = env.state().encoded;
    let bytes = encoded.get(key);
    if (bytes === undefined) {
      const value = kvRead(key);
      bytes = value === null ? null : encoder.encode(value);
      encoded.set(key, bytes);
    }
    return bytes;
  };
  const kvWrite = (key: string, value: string | null): void => {
    const st = env.state();
    st.overlay.set(key, value);
    st.encoded.delete(key);
  };

  const user: Record<string, HostFn> = {
    astrid_ipc_publish: airlock('astrid_ipc_publish', (cx, [s, p]) => {
      const subject = readText(cx, 'astrid_ipc_publish', 1, s, AirlockLimits.subjectBytes);
      const payloadJson = readText(cx, 'astrid_ipc_publish', 2, p, AirlockLimits.payloadBytes);
      checker.checkPublish(subject);
      try {
        JSON.parse(payloadJson);
      } catch (error) {
        throw new KernelError(ErrorCode.PayloadInvalid, `Cannot publish to "${subject}" as the payload is not valid JSON`, { cause: error });
      }
      env.state().published.push({ subject, payloadJson });
      return 'null';
    }),
    astrid_ipc_subscribe: airlock('astrid_ipc_subscribe', (cx, [p]) => {
      const pattern = readText(cx, 'astrid_ipc_subscribe', 1, p, AirlockLimits.subjectBytes);
      checker.checkSubscribe(pattern);
      return JSON.stringify(env.request({ op: 'ipcSubscribe', pattern }));
    }),
    astrid_ipc_unsubscribe: airlock('astrid_ipc_unsubscribe', (cx, [h]) => {
      const id = readText(cx, 'astrid_ipc_unsubscribe', 1, h, AirlockLimits.idBytes);
      return JSON.stringify(env.request({ op: 'ipcUnsubscribe', id }));
    }),
    astrid_ipc_poll: airlock('astrid_ipc_poll', (cx, [h, m]) => {
      const id = readText(cx, 'astrid_ipc_poll', 1, h, AirlockLimits.idBytes);
      if (typeof m !== 'bigint') throw abi('astrid_ipc_poll', 'argument 2 is not an i64 count');
      const max = Number(m < 1n ? 1n : m > BigInt(AirlockLimits.pollMax) ? BigInt(AirlockLimits.pollMax) : m);
      return batchJson(env.request({ op: 'ipcPoll', id, max }) as IpcBatch);
    }),
    astrid_kv_get: airlock('astrid_kv_get', (cx, [k]) => {
      const key = readKey(cx, 'astrid_kv_get', k);
      checker.checkKv(false);
      return JSON.stringify(kvRead(key));
    }),
    astrid_kv_get_into: inPlace('astrid_kv_get_into', 3, env.memory, (memory, [kp, kl], out, cap) => {
      const [start, end] = guestRange(memory, 'astrid_kv_get_into', 1, kp, kl);
      const key = guestKey(memory, 'astrid_kv_get_into', start, end);
      checker.checkKv(false);
      const bytes = kvReadEncoded(key);
      return writeResult(memory, out, cap, bytes === null ? InPlaceStatus.absent : InPlaceStatus.value, bytes);
    }),
    astrid_kv_set: airlock('astrid_kv_set', (cx, [k, val]) => {
      const key = readKey(cx, 'astrid_kv_set', k);
      const value = readText(cx, 'astrid_kv_set', 2, val, AirlockLimits.valueBytes);
      checker.checkKv(true);
      kvWrite(key, value);
      return 'null';
    }),
    astrid_kv_delete: airlock('astrid_kv_delete', (cx, [k]) => {
      const key = readKey(cx, 'astrid_kv_delete', k);
      checker.checkKv(true);
      const existed = kvRead(key) !== null;
      kvWrite(key, null);
      return existed ? 'true' : 'false';
    }),
    astrid_kv_list: airlock('astrid_kv_list', (cx, [p]) => {
      const prefix = readKey(cx, 'astrid_kv_list', p, true);
      checker.checkKv(false);
      const keys = new Set(env.request({ op: 'kvList', prefix }) as string[]);
      for (const [key, value] of env.state().overlay) {
        if (!key.startsWith(prefix)) continue;
        if (value === null) keys.delete(key);
        else keys.add(key);
      }
      return JSON.stringify([...keys].sort());
    }),
    astrid_log: airlock('astrid_log', (cx, [l, msg]) => {
      const level = readText(cx, 'astrid_log', 1, l, 16);
      const message = readText(cx, 'astrid_log', 2, msg, AirlockLimits.logBytes);
      const st = env.state();
      if (st.logLines++ < AirlockLimits.logLinesPerCall) env.log(LEVELS.has(level) ? (level as CapsuleLogLevel) : 'info', message);
      return 'null';
    }),
    astrid_config_get: airlock('astrid_config_get', (cx, [k]) => {
      const key = readText(cx, 'astrid_config_get', 1, k, AirlockLimits.keyBytes);
      checker.checkConfig(key);
      const st = env.state();
      let value = st.config.get(key);
      if (value === undefined) {
        value = env.request({ op: 'configGet', key }) as string | null;
        st.config.set(key, value);
      }
      return JSON.stringify(value);
    }),
    ...fsAirlocks(env.request),
    astrid_abort: (cx, h) => {
      let message: string;
      try {
        message = readText(cx, 'astrid_abort', 1, h, AirlockLimits.logBytes);
      } catch {
        message = 'abort';
      }
      throw new KernelError(ErrorCode.CapsuleTrapped, `Capsule "${env.capsuleId}" aborted: ${message}`, { details: { reason: 'abort' } });
    },
  };

  const kernel: Record<string, HostFn> = {
    alloc: (cx, n) => {
      if (typeof n !== 'bigint' || n < 0n) throw abi('alloc', 'the size is not a non-negative i64');
      const st = env.state();
      st.allocated += Number(n);
      if (st.allocated > env.memoryBytes) {
        throw new KernelError(ErrorCode.CapsuleMemoryExceeded, `Cannot allocate ${n} bytes of Extism memory as the call has spent its budget of ${env.memoryBytes} bytes`, {
          details: { reason: 'extism-memory' },
        });
      }
      return checked(cx.alloc(n));
    },
  };

  return { 'extism:host/user': user, 'extism:host/env': kernel };
}
