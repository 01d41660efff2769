// Test child (not part of the kernel): sweeps /proc/<pid>/maps in a loop (see MapsWatch) until a
// line arrives on stdin, then prints its report as one JSON line and exits. argv[2] is the JSON
// of MapsSamplerOptions. Prints "ready" after the first sweep.
import { setPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { MapsWatch, type MapsSamplerOptions } from './maps-sampler.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as MapsSamplerOptions;
const watch = new MapsWatch(options);
try {
  // Keep sampling while the watched processes load every core (allowed when run as root only).
  setPriority(-10);
} catch {
  // An ordinary user cannot raise its priority; it then samples less often under load.
}
let stopped = false;
process.stdin.once('data', () => {
  stopped = true;
});
watch.sweep();
process.stdout.write('ready\n');
while (!stopped) {
  watch.sweep();
  await sleep(options.intervalMs ?? 1);
}
process.stdout.write(`${JSON.stringify(watch.report())}\n`);
process.exit(0);
