// Capsule directories for the archive tests. Never exported from index.ts.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FULL_MANIFEST } from '../manifest/fixtures.test-support.ts';

/** Writes a capsule that uses every manifest table, creating files in the given order. */
export async function writeFullCapsule(dir: string, reverse = false): Promise<void> {
  const files: [string, string, number][] = [
    ['Capsule.toml', FULL_MANIFEST, 0o644],
    ['weather.wasm', '\0asm\u0001\0\0\0', 0o644],
    ['bin/mcp-server', '#!/bin/sh\necho hi\n', 0o755],
    ['docs/WEATHER.md', '# Weather\n', 0o644],
    ['skills/forecast.md', 'Read it carefully.\n', 0o644],
    ['helper.js', 'export const helper = "helper";\n', 0o644],
  ];
  for (const [path, body, mode] of reverse ? files.reverse() : files) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), body, { mode });
    await chmod(join(dir, path), mode);
  }
  await mkdir(join(dir, 'empty-dir'), { recursive: true });
}
