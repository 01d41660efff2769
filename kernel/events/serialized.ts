// The JSON text of event data, when the kernel code that built the data already serialized it.

const texts = new WeakMap<object, string>();

/**
 * Remembers that `text` is exactly `JSON.stringify(data)`, so the log stores it without
 * serializing `data` again. Only for a data object the caller has just built from values
 * it serialized itself, and that nobody changes afterwards. Returns `data`.
 */
export function withDataJson<T extends object>(data: T, text: string): T {
  texts.set(data, text);
  return data;
}

/** The JSON text of event data: the remembered text, else `JSON.stringify(data)` (undefined when not JSON). */
export function dataJsonOf(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null) {
    const text = texts.get(data);
    if (text !== undefined) return text;
  }
  return JSON.stringify(data) as string | undefined;
}
