/**
 * Entry point of a capsule worker thread (not imported by anything else). It runs one
 * Extism plugin in foreground mode, serves calls one at a time, and reaches the kernel
 * through a synchronous bridge: post a request, block on `Atomics.wait`, then take the
 * reply with `receiveMessageOnPort`. The main thread can `terminate()` it at any moment,
 * which is how runaway calls are preempted.
 */
import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { createPlugin, type Plugin } from '@extism/extism';
import { ErrorCode, KernelError, isKernelError, type WireError } from '../errors/index.ts';
import { abi } from './abi.ts';
import { createHostFunctions, newCallState, type AirlockEnv, type CallState } from './airlocks.ts';
import { GrantChecker } from './grant-checker.ts';
import { FLAG, transferList, type BridgeReply, type BridgeRequest, type CallMessage, type FromWorker, type InitMessage, type ToWorker } from './protocol.ts';
import type { CapsuleLogLevel } from './services.ts';
import { Wasm, type WasmInstance, type WasmMemory } from './wasm-api.ts';

const FATAL: ReadonlySet<string> = new Set([ErrorCode.CapsuleTrapped, ErrorCode.CapsuleMemoryExceeded]);
const GUEST_ERROR = 'Plugin-originated error: ';

if (parentPort === null) throw new Error('capsule-worker must run in a worker thread');
const port = parentPort;

let init: InitMessage | null = null;
let plugin: Plugin | null = null;
let flag = new Int32Array(new SharedArrayBuffer(4));
let replyPort: MessagePort | null = null;
let state: CallState = newCallState();
/** The instance's exported linear memory (null before instantiation, or when it exports none). */
let memory: WasmMemory | null = null;
let memoryView = new Uint8Array(0);

/** A view of the guest's memory as it is now: growing the memory replaces its buffer. */
function guestMemory(): Uint8Array {
  if (memory === null) throw abi('memory', 'the module exports no linear memory named "memory" (or the airlock ran during instantiation)');
  if (memoryView.buffer !== memory.buffer) memoryView = new Uint8Array(memory.buffer);
  return memoryView;
}

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function request(req: BridgeRequest): unknown {
  Atomics.store(flag, FLAG, 0);
  post({ type: 'host', request: req });
  while (Atomics.load(flag, FLAG) === 0) Atomics.wait(flag, FLAG, 0);
  const got = replyPort === null ? undefined : receiveMessageOnPort(replyPort);
  if (got === undefined) throw new KernelError(ErrorCode.Internal, 'Cannot read the bridge reply as none was posted');
  const reply = got.message as BridgeReply;
  if (reply.ok) return reply.value;
  throw KernelError.fromWire(reply.error);
}

function log(level: CapsuleLogLevel, message: string): void {
  post({ type: 'log', level, message });
}

/** Instantiates `setup.module` with the airlocks, and finds its linear memory. */
async function instantiate(setup: Omit<InitMessage, 'type' | 'flag' | 'replyPort'>): Promise<Plugin> {
  memory = null;
  const env: AirlockEnv = {
    capsuleId: setup.capsuleId,
    checker: new GrantChecker(setup.capsuleId, setup.grant),
    memoryBytes: setup.memoryBytes,
    state: () => state,
    memory: guestMemory,
    request,
    log,
  };
  // Extism's own log_* kernel functions land here; they count against the same line cap.
  const sink = (level: CapsuleLogLevel) => (message: unknown) => {
    if (state.logLines++ < 1000) log(level, String(message));
  };
  const logger = { debug: sink('debug'), info: sink('info'), warn: sink('warn'), error: sink('error'), log: sink('info') };
  const created = await createPlugin(
    { wasm: [{ module: setup.module }] },
    { useWasi: false, functions: createHostFunctions(env), logger: logger as unknown as Console },
  );
  const exported = ((await created.getInstance()) as unknown as WasmInstance).exports['memory'];
  memory = exported instanceof Wasm.Memory ? exported : null;
  return created;
}

function linearPages(instance: WasmInstance): number | null {
  const memory = instance.exports['memory'];
  return memory instanceof Wasm.Memory ? memory.buffer.byteLength / 65536 : null;
}

async function classify(error: unknown, setup: InitMessage, fn: string): Promise<{ error: WireError; recycle: boolean }> {
  const where = `Capsule "${setup.capsuleId}"`;
  if (isKernelError(error)) return { error: error.toJSON(), recycle: FATAL.has(error.code) };
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof Wasm.RuntimeError) {
    const pages = plugin === null ? null : linearPages((await plugin.getInstance()) as unknown as WasmInstance);
    const atCap = setup.maxPages !== null && pages !== null && pages >= setup.maxPages;
    // AssemblyScript's allocator traps with a bare `unreachable` when memory.grow fails;
    // with the name section our build preset keeps, its frame says so.
    const top = /\n\s*at (\S+)/.exec(error.stack ?? '')?.[1] ?? '';
    const inGrow = top.startsWith('~lib/rt/tlsf/');
    if (atCap || inGrow) {
      const cap = setup.maxPages ?? 0;
      return {
        error: new KernelError(ErrorCode.CapsuleMemoryExceeded, `${where} ran out of memory in "${fn}": its linear memory is capped at ${cap} pages (${cap * 64} KiB)`, {
          details: { reason: 'linear-memory', pages: pages ?? 0, maxPages: cap },
        }).toJSON(),
        recycle: true,
      };
    }
    return { error: new KernelError(ErrorCode.CapsuleTrapped, `${where} trapped in "${fn}": ${text}`, { details: { reason: 'trap' } }).toJSON(), recycle: true };
  }
  if (error instanceof RangeError && /call stack/i.test(text)) {
    return { error: new KernelError(ErrorCode.CapsuleTrapped, `${where} trapped in "${fn}": stack overflow`, { details: { reason: 'stack-overflow' } }).toJSON(), recycle: true };
  }
  if (text.startsWith(GUEST_ERROR)) {
    const guest = text.slice(GUEST_ERROR.length);
    let message = guest;
    let capsuleCode: string | null = null;
    try {
      const parsed: unknown = JSON.parse(guest);
      if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string') {
        message = parsed.message;
        if ('code' in parsed && typeof parsed.code === 'string') capsuleCode = parsed.code;
      }
    } catch {
      // A plain-text error is fine: the message is the text.
    }
    return { error: new KernelError(ErrorCode.CapsuleFailed, `${where} failed in "${fn}": ${message}`, { details: { capsuleCode } }).toJSON(), recycle: false };
  }
  if (/^Plugin error: (target|function) /.test(text)) {
    return { error: new KernelError(ErrorCode.WasmExportMissing, `Cannot call "${fn}" as capsule "${setup.capsuleId}" does not export it`).toJSON(), recycle: false };
  }
  // A host-side TypeError or RangeError raised by the guest's arguments: ABI misuse.
  const name = error instanceof Error ? error.name : 'Error';
  return { error: new KernelError(ErrorCode.CapsuleTrapped, `${where} trapped in "${fn}": ${name}: ${text}`, { details: { reason: 'abi' } }).toJSON(), recycle: true };
}

async function onCall(msg: CallMessage): Promise<void> {
  const setup = init;
  if (setup === null || plugin === null) {
    post({ type: 'failed', id: msg.id, error: { code: ErrorCode.Internal, message: 'Cannot call a capsule worker that holds no instance' }, recycled: false });
    return;
  }
  state = newCallState();
  const input = msg.input.byteOffset === 0 && msg.input.byteLength === msg.input.buffer.byteLength ? msg.input : msg.input.slice();
  try {
    const out = await plugin.call(msg.fn, input);
    // The output is a whole Extism block, so its buffer holds nothing else.
    const output = out === null ? new Uint8Array(0) : out.bytes();
    const effects = { kv: [...state.overlay].map(([key, value]) => ({ key, value })), published: state.published };
    await plugin.reset();
    post({ type: 'done', id: msg.id, output, effects }, transferList(output));
  } catch (error) {
    const failure = await classify(error, setup, msg.fn);
    await plugin.reset();
    post({ type: 'failed', id: msg.id, error: failure.error, recycled: failure.recycle });
    if (failure.recycle) {
      // The guest's heap may be inconsistent after a trap: start from a fresh instance.
      const old = plugin;
      plugin = null;
      await old.close();
      plugin = await instantiate(setup).catch(() => null);
    }
  }
}

async function onInit(msg: InitMessage): Promise<void> {
  try {
    init = msg;
    flag = new Int32Array(msg.flag);
    replyPort = msg.replyPort;
    plugin = await instantiate(msg);
    post({ type: 'initialized' });
  } catch (error) {
    const wire = isKernelError(error)
      ? error.toJSON()
      : { code: ErrorCode.WasmInvalid, message: `Cannot instantiate capsule "${msg.capsuleId}": ${error instanceof Error ? error.message : String(error)}` };
    post({ type: 'init-failed', error: wire });
  }
}

/** `(module (memory 1) (func (export "nop") (result i32) i32.const 0))`, for the warm-up. */
const WARMUP = Uint8Array.from([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0, 5, 3, 1, 0, 1,
  7, 7, 1, 3, 0x6e, 0x6f, 0x70, 0, 0, 0x0a, 6, 1, 4, 0, 0x41, 0, 0x0b,
]);

// The first plugin in a fresh thread pays for compiling Extism's code and ours (the
// airlocks, the grant checker) to bytecode; pay it through the same path before reporting
// "booted", so that a spare worker starts a capsule in about a millisecond.
const warm = await instantiate({
  capsuleId: 'warm-up',
  module: await Wasm.compile(WARMUP),
  grant: { ipc: { publish: [], subscribe: [] }, kv: [], env: [], fs: [] },
  maxPages: 1,
  memoryBytes: 65536,
});
await warm.call('nop', WARMUP);
await warm.reset();
await warm.close();
memory = null;

let chain: Promise<void> = Promise.resolve();
port.on('message', (msg: ToWorker) => {
  chain = chain.then(() => (msg.type === 'init' ? onInit(msg) : onCall(msg))).catch(() => undefined);
});
// Report "booted" one turn of the event loop later: the native work that loading this
// module left queued (about 10 ms under tsx, less without it) then runs before a start
// arrives, not in front of it.
await new Promise<void>((resolve) => setImmediate(resolve));
post({ type: 'booted' });
