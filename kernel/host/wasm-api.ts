/**
 * Typed access to the `WebAssembly` global. The project compiles without the DOM library,
 * and Node's types do not declare it, so the host declares the small part it uses here
 * instead of adding a global declaration for everyone.
 */

/** A compiled module; opaque, can be posted to a worker. */
export interface WasmModule {
  readonly [Symbol.toStringTag]: string;
}

/** One import or export of a module. */
export interface WasmDescriptor {
  readonly module?: string;
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

/** A linear memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** An instance: only its exports are read. */
export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  readonly Module: {
    imports(module: WasmModule): Array<WasmDescriptor & { readonly module: string }>;
    exports(module: WasmModule): WasmDescriptor[];
  };
  readonly Memory: abstract new (...args: never[]) => WasmMemory;
  readonly RuntimeError: abstract new (...args: never[]) => Error;
}

/** The runtime's `WebAssembly` object. */
export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
