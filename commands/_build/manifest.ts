import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Plugin, type Interfaces } from '@oclif/core';
import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';

/** The file oclif reads at a CLI's root instead of importing every command at start-up. */
export const MANIFEST_FILE = 'oclif.manifest.json';

/**
 * Builds the oclif manifest of the CLI whose package.json is at `root`, by loading its
 * compiled commands (so `tsc -p .` must have run). Any command that fails to load fails
 * the build rather than vanishing from the CLI.
 * @throws KernelError BUILD_FAILED naming the command oclif could not load.
 */
export async function buildManifest(root: string): Promise<Interfaces.Manifest> {
  const plugin = new Plugin({ root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true });
  try {
    await plugin.load();
  } catch (cause) {
    const message = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new KernelError(ErrorCode.BuildFailed, `Cannot build the CLI manifest of "${root}" as a command failed to load: ${message}`, { cause });
  }
  if (Object.keys(plugin.manifest.commands).length === 0) {
    throw new KernelError(ErrorCode.BuildFailed, `Cannot build the CLI manifest of "${root}" as no compiled command was found (run "tsc -p ." first)`);
  }
  return plugin.manifest;
}

/**
 * Writes `oclif.manifest.json` at `root` and returns its path and command count.
 * @throws KernelError BUILD_FAILED (see {@link buildManifest}).
 */
export async function writeManifest(root: string): Promise<{ path: string; commands: number }> {
  const manifest = await buildManifest(root);
  const path = join(root, MANIFEST_FILE);
  await writeFile(path, `${JSON.stringify(manifest, null, 1)}\n`);
  return { path, commands: Object.keys(manifest.commands).length };
}

// `npm run manifest`: the repository root is two folders up from this file.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const { path, commands } = await writeManifest(root);
  process.stdout.write(`Wrote ${path} (${commands} commands)\n`);
}
