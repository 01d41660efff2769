import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { NewEvent } from '../../events/index.ts';
import type { InstalledCapsuleEntry } from './schema.ts';

/**
 * Checks a `.capsule` archive completely (every entry, the manifest, the files it names) by
 * unpacking it into a scratch directory under `scratch`, then returns the
 * `capsule.installed` event that carries it as a blob. Nothing is written outside `scratch`,
 * and the scratch copy is removed either way.
 * @throws KernelError ARCHIVE_INVALID, ARCHIVE_UNSAFE_ENTRY, ARCHIVE_TOO_LARGE, MANIFEST_INVALID, CAPSULE_INVALID
 */
export async function capsuleInstallEvent(
  archive: Uint8Array,
  options: { scratch: string; source: string; current: (id: string) => InstalledCapsuleEntry | null },
): Promise<{ event: NewEvent; capsuleId: string; version: string; replaced: string | null }> {
  const { unpackCapsuleBuffer } = await import('../archive/index.ts');
  const dir = await mkdtemp(join(options.scratch, '.install-'));
  try {
    const { manifest } = await unpackCapsuleBuffer(archive, join(dir, 'tree'));
    const capsuleId = manifest.package.name;
    const version = manifest.package.version;
    const replaced = options.current(capsuleId)?.version ?? null;
    const digest = createHash('sha256').update(archive).digest('hex');
    return {
      capsuleId,
      version,
      replaced,
      event: {
        type: 'capsule.installed',
        v: 1,
        source: options.source,
        data: { capsuleId, version, archive: digest, size: archive.byteLength, replaced },
        blobs: [archive],
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
