/** How to start a worker thread on a module: the `Worker` constructor's first argument and its `eval` option. */
export interface WorkerEntry {
  readonly entry: string | URL;
  readonly eval: boolean;
}

/**
 * The entry for a worker running `module`. A compiled `.js` module is started as it is; a
 * TypeScript module (tests, tsx) gets a tiny bootstrap that registers the tsx loader first,
 * since a worker does not inherit it.
 */
export function workerEntry(module: URL): WorkerEntry {
  if (!module.pathname.endsWith('.ts')) return { entry: module, eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  return { entry: `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(module.href)}); })`, eval: true };
}
