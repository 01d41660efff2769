import type * as v from 'valibot';
import type { CapabilitiesSchema, FsRightSchema } from './schema-parts.ts';
import type { ManifestShape } from './shape.ts';

type Capabilities = v.InferOutput<typeof CapabilitiesSchema>;
type FsRight = v.InferOutput<typeof FsRightSchema>;

/** Every capability a component holds, with defaults filled in and duplicates removed. */
export interface EffectiveCapabilities {
  readonly ipc_publish: readonly string[];
  readonly ipc_subscribe: readonly string[];
  /** `false`: no KV; `true`: the capsule's own namespace; a list: its own plus these shared ones. */
  readonly kv: boolean | readonly string[];
  readonly fs: readonly { readonly path: string; readonly rights: readonly FsRight[] }[];
  readonly net: readonly string[];
  readonly host_process: readonly string[];
  readonly uplink: boolean;
}

const RIGHT_ORDER: readonly FsRight[] = ['read', 'write', 'list', 'create', 'delete'];

function union(...lists: (readonly string[] | undefined)[]): string[] {
  return [...new Set(lists.flatMap((list) => list ?? []))];
}

function mergeKv(a: Capabilities['kv'], b: Capabilities['kv']): boolean | string[] {
  if (a === undefined && b === undefined) return false;
  const lists = [a, b].filter((kv): kv is string[] => Array.isArray(kv));
  if (lists.length > 0) return union(...lists);
  return a === true || b === true;
}

function mergeFs(grants: readonly { path: string; rights: FsRight[] }[]): EffectiveCapabilities['fs'] {
  const byPath = new Map<string, Set<FsRight>>();
  for (const grant of grants) {
    const rights = byPath.get(grant.path) ?? new Set<FsRight>();
    for (const right of grant.rights) rights.add(right);
    byPath.set(grant.path, rights);
  }
  return [...byPath].map(([path, rights]) => ({ path, rights: RIGHT_ORDER.filter((right) => rights.has(right)) }));
}

/**
 * Merges two capability tables: lists are unioned (first table's order first), fs rights are
 * unioned per path, `uplink` is true if either says so. `kv`: a namespace list from either side
 * wins over a bare `true` (a list also grants the capsule's own namespace); absent everywhere is
 * `false`. Pure; never throws.
 */
export function mergeCapabilities(a: Capabilities | undefined, b: Capabilities | undefined): EffectiveCapabilities {
  return {
    ipc_publish: union(a?.ipc_publish, b?.ipc_publish),
    ipc_subscribe: union(a?.ipc_subscribe, b?.ipc_subscribe),
    kv: mergeKv(a?.kv, b?.kv),
    fs: mergeFs([...(a?.fs ?? []), ...(b?.fs ?? [])]),
    net: union(a?.net, b?.net),
    host_process: union(a?.host_process, b?.host_process),
    uplink: a?.uplink === true || b?.uplink === true,
  };
}

/**
 * The capabilities of one component: the capsule's `[capabilities]` merged with the component's
 * own inline `capabilities` (see {@link mergeCapabilities}). Returns null when the manifest has
 * no component with that id. Pure; never throws.
 */
export function mergedCapabilities(manifest: ManifestShape, componentId: string): EffectiveCapabilities | null {
  const component = manifest.component?.find((candidate) => candidate.id === componentId);
  if (component === undefined) return null;
  return mergeCapabilities(manifest.capabilities, component.capabilities);
}
