import { copyFile, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeManifest } from '../commands/_build/manifest.ts';
import { ErrorCode, KernelError } from '../kernel/errors/index.ts';

const BARE_COMMAND = `import { Args, Command, Flags } from '@oclif/core';

export default class Hello extends Command {
  static summary = 'Say hello';
  static enableJsonFlag = true;
  static args = { name: Args.string({ description: 'Who to greet' }) };
  static flags = { loud: Flags.boolean({ description: 'Shout' }) };

  async run() {
    const { args, flags } = await this.parse(Hello);
    const text = 'hello ' + (args.name ?? 'world');
    this.log(flags.loud ? text.toUpperCase() : text);
    return { text };
  }
}
`;

const BIN = `#!/usr/bin/env node
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
`;

/**
 * Writes a bare oclif CLI with one command (`hello`) at `dir`: a package.json with oclif
 * config, a bin and one compiled command, importing @oclif/core from `repoRoot`'s
 * node_modules (symlinked). Returns the bin's path.
 */
export async function writeBareCli(dir: string, repoRoot: string, options: { manifest: boolean }): Promise<string> {
  await mkdir(join(dir, 'commands'), { recursive: true });
  await mkdir(join(dir, 'bin'), { recursive: true });
  const pjson = { name: 'bare', version: '1.0.0', type: 'module', oclif: { bin: 'bare', dirname: 'bare', commands: './commands', topicSeparator: ' ' } };
  await writeFile(join(dir, 'package.json'), JSON.stringify(pjson, null, 2));
  await writeFile(join(dir, 'bin', 'run.js'), BIN);
  await writeFile(join(dir, 'commands', 'hello.js'), BARE_COMMAND);
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  if (options.manifest) await writeManifest(dir);
  return join(dir, 'bin', 'run.js');
}

/**
 * Lays out `astrid` at `dir` exactly as the repository ships it (same package.json oclif
 * config, same bin, the compiled commands of `repoRoot/dist` and its node_modules, both
 * symlinked), optionally with a manifest, without touching the repository. Returns the bin.
 * @throws KernelError INTERNAL when `dist/commands` is missing (run `npm run build` first).
 */
export async function writeAstridCopy(dir: string, repoRoot: string, options: { manifest: boolean }): Promise<string> {
  const built = await stat(join(repoRoot, 'dist', 'commands')).catch(() => null);
  if (built === null) throw new KernelError(ErrorCode.Internal, 'Cannot benchmark the CLI as dist/commands is missing: run "npm run build" first');
  const repo = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  const pjson = { name: repo['name'], version: repo['version'], type: repo['type'], oclif: repo['oclif'] };
  await mkdir(join(dir, 'commands'), { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify(pjson, null, 2));
  await copyFile(join(repoRoot, 'commands', 'astrid.js'), join(dir, 'commands', 'astrid.js'));
  await symlink(join(repoRoot, 'dist'), join(dir, 'dist'), 'dir');
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  if (options.manifest) await writeManifest(dir);
  return join(dir, 'commands', 'astrid.js');
}
