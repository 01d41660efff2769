import { rightBit, type EffectiveCapability, type Right } from '../../caps/index.ts';
import { ErrorCode, KernelError } from '../../errors/index.ts';
import { isWithinVirtual, normalizeVirtualPath, type VirtualPath } from '../../vfs/path/index.ts';
import type { FsCaller, FsGrant } from '../services.ts';

/**
 * Normalises a path a capsule gave and checks it lies within the handle's root. Throws
 * `PATH_INVALID` (NUL, control characters, backslash, too long, not a string), `PATH_ESCAPE`
 * (a `..` component, or a path outside the root: an absolute host path is just a virtual
 * path, and outside a narrower root it is an escape).
 */
export function pathWithin(cap: EffectiveCapability, input: string): VirtualPath {
  const path = normalizeVirtualPath(input);
  if (!isWithinVirtual(cap.root, path)) {
    throw new KernelError(ErrorCode.PathEscape, `Cannot use "${path}" as it is outside the handle's root "${cap.root}"`, {
      details: { reason: 'outside-root', root: cap.root },
    });
  }
  return path;
}

/** Whether the handle holds `right` (its root was checked by {@link pathWithin}). */
export function handleHolds(cap: EffectiveCapability, right: Right): boolean {
  return (cap.rightsMask & rightBit(right)) !== 0;
}

/** Whether a manifest grant covers `right` on `path`. */
export function grantsAllow(grants: readonly FsGrant[], right: Right, path: VirtualPath): boolean {
  return grants.some((g) => g.rights.includes(right) && isWithinVirtual(normalizeVirtualPath(g.path), path));
}

/**
 * Checks that one of `rights` is held on `path` by the handle and, when `manifest` is set,
 * by the capsule's `[capabilities] fs` grants too: a handle never exceeds what the manifest
 * declares. Throws `CAPABILITY_DENIED` naming what is missing.
 */
export function requireRight(cap: EffectiveCapability, caller: FsCaller, path: VirtualPath, rights: readonly Right[], manifest: boolean): void {
  const names = rights.map((r) => `"${r}"`).join(' or ');
  if (!rights.some((r) => handleHolds(cap, r))) {
    throw denied(caller, `${names} on "${path}"`, 'the handle does not hold it');
  }
  if (manifest && !rights.some((r) => handleHolds(cap, r) && grantsAllow(caller.grants, r, path))) {
    throw denied(caller, `${names} on "${path}"`, 'the manifest declares no fs grant for it');
  }
}

function denied(caller: FsCaller, what: string, why: string): KernelError {
  return new KernelError(ErrorCode.CapabilityDenied, `Cannot use ${what} as capsule "${caller.capsuleId}" lacks the capability: ${why}`, {
    details: { capsuleId: caller.capsuleId },
  });
}

/** Manifest fs paths are workspace-relative (`.` is the root); as virtual paths. */
export function grantPath(workspacePath: string): string {
  return workspacePath === '.' ? '/' : `/${workspacePath}`;
}
