import { capsuleFiles } from '../../kernel/capsule/installed/index.ts';
import { vfsUpperFiles } from '../../kernel/vfs/overlay/index.ts';
import type { Materializer, ProjectionDefinition } from '../../kernel/projection/index.ts';
import { allProjections } from '../../projections/index.ts';

/** What the CLI hands the kernel when it boots an owner: every projection and materializer. */
export const kernelParts: { readonly projections: readonly ProjectionDefinition[]; readonly materializers: readonly Materializer[] } = {
  projections: allProjections,
  materializers: [capsuleFiles, vfsUpperFiles],
};
