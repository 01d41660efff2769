// Wired by the build preset: `--use abort=~lib/astrid-sdk/abort/astridAbort` and
// `--use seed=~lib/astrid-sdk/abort/astridSeed`, so a capsule needs no `env` import.
import { allocString } from "./memory";

@external("extism:host/user", "astrid_abort")
declare function astrid_abort(message: u64): void;

/** AssemblyScript's abort (assert, bounds checks, throw): the host reports CAPSULE_TRAPPED. */
export function astridAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const text = (message !== null ? message : "abort") + " at " + (fileName !== null ? fileName : "?") + ":" + line.toString() + ":" + column.toString();
  astrid_abort(allocString(text));
  unreachable();
}

/** Math.random's seed: a constant, so that a capsule replays the same way every time. */
export function astridSeed(): f64 {
  return 0x5eed;
}
