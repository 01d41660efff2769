import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../../kernel/errors/index.ts';
import { MANIFEST_FILE, buildManifest, writeManifest } from './manifest.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** A tiny compiled oclif CLI at `dir` whose commands are the given files (name → source). */
async function fixtureCli(dir: string, commands: Record<string, string>): Promise<void> {
  await mkdir(join(dir, 'commands'), { recursive: true });
  const oclif = { bin: 'fx', dirname: 'fx', topicSeparator: ' ', commands: './commands' };
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'fx', version: '1.2.3', type: 'module', oclif }));
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const [name, source] of Object.entries(commands)) await writeFile(join(dir, 'commands', `${name}.js`), source);
}

const command = (summary: string): string => `import { Command, Flags } from '@oclif/core';
export default class C extends Command {
  static summary = ${JSON.stringify(summary)};
  static flags = { loud: Flags.boolean() };
  async run() {}
}
`;

test('writeManifest() writes every command with its summary and flags, and the package version', async () => {
  await using dir = await tempDir();
  await fixtureCli(dir.path, { hello: command('Say hello'), bye: command('Say bye') });

  const written = await writeManifest(dir.path);
  const manifest = JSON.parse(await readFile(join(dir.path, MANIFEST_FILE), 'utf8')) as {
    version: string;
    commands: Record<string, { summary?: string; flags: Record<string, unknown> }>;
  };

  assert.deepEqual(written, { path: join(dir.path, MANIFEST_FILE), commands: 2 });
  assert.equal(manifest.version, '1.2.3');
  assert.deepEqual(Object.keys(manifest.commands).sort(), ['bye', 'hello']);
  assert.equal(manifest.commands['hello']?.summary, 'Say hello');
  assert.ok('loud' in (manifest.commands['hello']?.flags ?? {}));
});

test('buildManifest() fails with BUILD_FAILED when a command cannot be loaded', async () => {
  await using dir = await tempDir();
  await fixtureCli(dir.path, { ok: command('Fine'), broken: "throw new Error('broken at import');\n" });

  await assert.rejects(buildManifest(dir.path), (error: unknown) => isKernelError(error, ErrorCode.BuildFailed));
});

test('buildManifest() fails with BUILD_FAILED when no compiled command exists', async () => {
  await using dir = await tempDir();
  await fixtureCli(dir.path, {});

  await assert.rejects(buildManifest(dir.path), (error: unknown) => isKernelError(error, ErrorCode.BuildFailed));
});
