import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCapsuleWasm } from '../../capsules/tools/build.ts';
import { packCapsuleBuffer } from '../../kernel/capsule/archive/index.ts';
import { loadManifest } from '../../kernel/capsule/manifest/index.ts';
import type { KernelApi } from '../../kernel/service/api.ts';

/**
 * Builds an AssemblyScript capsule from source (cached by `buildCapsuleWasm`), stages its
 * manifest and module in `scratch`, packs it and installs it through the kernel API, the way
 * `astrid capsule install` does, as `source`. Returns the capsule id.
 */
export async function buildAndInstall(kernel: KernelApi, sourceDir: string, scratch: string, source = 'user:test'): Promise<string> {
  const manifest = await loadManifest(sourceDir);
  if (manifest === null) throw new Error(`no Capsule.toml in ${sourceDir}`);
  const component = (manifest.component ?? []).find((c) => c.wasm !== undefined);
  if (component?.wasm === undefined) throw new Error(`no wasm component in ${sourceDir}`);
  const staged = join(scratch, `stage-${manifest.package.name}`);
  await mkdir(staged, { recursive: true });
  for (const entry of await readdir(sourceDir, { withFileTypes: true })) {
    if (entry.isFile() && !entry.name.endsWith('.wasm')) await copyFile(join(sourceDir, entry.name), join(staged, entry.name));
  }
  await writeFile(join(staged, component.wasm), (await buildCapsuleWasm(sourceDir)).wasm);
  const { archive } = await packCapsuleBuffer(staged);
  return (await kernel.installCapsule(archive, { source })).capsuleId;
}
