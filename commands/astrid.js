#!/usr/bin/env node
// The `astrid` executable: oclif loads the bundled commands from dist/commands (npm run build).
import { createRequire } from 'node:module';

// @oclif/core's entry warns when Node does not satisfy its `engines` range, checked with
// semver: about 45 modules, a tenth of a command's start-up. Unless the user set
// OCLIF_DISABLE_ENGINE_WARNING, oclif is told to skip it and the same check is made here.
const ENGINE_FLAG = 'OCLIF_DISABLE_ENGINE_WARNING';
const ownCheck = process.env[ENGINE_FLAG] === undefined;
if (ownCheck) process.env[ENGINE_FLAG] = '1';
const { execute } = await import('@oclif/core');
if (ownCheck) {
  delete process.env[ENGINE_FLAG];
  await warnOnUnsupportedNode();
}

await execute({ dir: import.meta.url });

/** oclif's engine check: a plain `>=x.y.z` range is compared by hand, any other with semver. */
async function warnOnUnsupportedNode() {
  try {
    const range = createRequire(import.meta.url)('@oclif/core/package.json').engines.node;
    const min = /^>=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
    const plain = /^\d+\.\d+\.\d+$/.test(process.versions.node);
    const ok = min !== null && plain ? atLeast(process.versions.node, min.slice(1)) : (await import('semver')).default.satisfies(process.versions.node, range);
    if (!ok) process.emitWarning(`Node version must be ${range} to use this CLI. Current node version: ${process.versions.node}`);
  } catch {
    // As oclif does: a failed check never stops the CLI.
  }
}

/** Whether `x.y.z` is at least the given [major, minor?, patch?]. */
function atLeast(version, parts) {
  const have = version.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const want = Number(parts[i] ?? 0);
    if ((have[i] ?? 0) !== want) return (have[i] ?? 0) > want;
  }
  return true;
}
