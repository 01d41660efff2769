import { ErrorCode, KernelError } from '../../errors/index.ts';
import { virtualPathFromParts, virtualPathParts, type VirtualPath } from './virtual-path.ts';

/** How symlinks met during resolution are treated. */
export type SymlinkPolicy = 'follow-inside' | 'refuse';

/** Most symlinks followed in one resolution, as Linux (`ELOOP` after 40). */
export const MAX_SYMLINK_HOPS = 40;

/** What one non-final step finds. */
export type Step<D> =
  | { readonly kind: 'directory'; readonly ref: D }
  | { readonly kind: 'symlink'; readonly target: string }
  | { readonly kind: 'not-directory' }
  | { readonly kind: 'missing' };

/** What the final step finds: a value, or a link to follow. */
export type FinalStep<R> = { readonly value: R } | { readonly link: string };

/** A directory on the walk: its reference and its name in the parent. */
export interface WalkDir<D> {
  readonly name: string;
  readonly ref: D;
}

/** The storage a walk runs over: host paths (lstat) or open directory descriptors. */
export interface WalkBackend<D, R> {
  /** Looks up a non-final component inside `dir`. */
  step(dir: D, name: string): Promise<Step<D>>;
  /** Looks up the final component; returns a link target to follow it. */
  final(dir: D, name: string, virtualPath: VirtualPath, followLink: boolean): Promise<FinalStep<R>>;
  /** The path named the root itself. */
  atRoot(root: D): Promise<R>;
  /** A component is missing; `rest` holds the remaining names (no `.` or `..`). */
  missing(dir: D, virtualDir: VirtualPath, rest: readonly string[]): Promise<R>;
  /** Frees a directory reference the walk no longer needs (the root included). */
  release(ref: D): Promise<void>;
}

/** Options of {@link walkInRoot}. */
export interface WalkOptions {
  readonly followFinal: boolean;
  readonly symlinks: SymlinkPolicy;
}

/**
 * Walks `vpath` from `root` one component at a time. A symlink's target is spliced into the
 * walk and resolved by the same rules: `..` pops one directory of the walk (physical, not
 * lexical, as every directory on the stack is a real one), climbing above the root is
 * `PATH_ESCAPE`, and an absolute target must spell the canonical root as its prefix.
 * Every reference is released before this returns or throws.
 */
export async function walkInRoot<D, R>(
  rootReal: string,
  root: D,
  vpath: VirtualPath,
  backend: WalkBackend<D, R>,
  options: WalkOptions,
): Promise<R> {
  const stack: WalkDir<D>[] = [{ name: '', ref: root }];
  // The names still to walk, last one first, so the next is `queue.pop()`.
  const queue = virtualPathParts(vpath).reverse();
  let hops = 0;
  const top = (): WalkDir<D> => stack[stack.length - 1] as WalkDir<D>;
  const dirPath = (): VirtualPath => virtualPathFromParts(stack.slice(1).map((d) => d.name));
  const follow = async (target: string, at: string): Promise<void> => {
    hops += 1;
    if (hops > MAX_SYMLINK_HOPS) {
      throw new KernelError(ErrorCode.PathInvalid, `Cannot resolve "${vpath}" as it has more than ${MAX_SYMLINK_HOPS} levels of symbolic links`);
    }
    if (options.symlinks === 'refuse') {
      throw new KernelError(ErrorCode.PathEscape, `Cannot resolve "${vpath}" as "${at}" is a symbolic link and links are not allowed`, {
        details: { reason: 'symlink' },
      });
    }
    const parts = splitLinkTarget(rootReal, target, vpath, at);
    if (parts.absolute) {
      while (stack.length > 1) await backend.release((stack.pop() as WalkDir<D>).ref);
    }
    for (let i = parts.names.length - 1; i >= 0; i -= 1) queue.push(parts.names[i] as string);
  };

  try {
    for (;;) {
      // Drop `.` and resolve `..` before deciding whether a name is the final one.
      let name = queue.pop();
      while (name === '.' || name === '..') {
        if (name === '..') {
          if (stack.length === 1) {
            throw new KernelError(ErrorCode.PathEscape, `Cannot resolve "${vpath}" as a symbolic link climbs above the root`, {
              details: { reason: 'symlink-escape' },
            });
          }
          await backend.release((stack.pop() as WalkDir<D>).ref);
        }
        name = queue.pop();
      }
      if (name === undefined) {
        // The path ends on a directory already on the stack: re-check it as the final step.
        if (stack.length === 1) return await backend.atRoot(root);
        const popped = stack.pop() as WalkDir<D>;
        await backend.release(popped.ref);
        name = popped.name;
      }
      const dir = top();
      if (queue.length === 0) {
        const virtualPath = virtualPathFromParts([...stack.slice(1).map((d) => d.name), name]);
        const step = await backend.final(dir.ref, name, virtualPath, options.followFinal);
        if ('value' in step) return step.value;
        await follow(step.link, virtualPath);
        continue;
      }
      const step = await backend.step(dir.ref, name);
      switch (step.kind) {
        case 'directory':
          stack.push({ name, ref: step.ref });
          break;
        case 'symlink':
          await follow(step.target, virtualPathFromParts([...stack.slice(1).map((d) => d.name), name]));
          break;
        case 'not-directory':
          throw new KernelError(ErrorCode.PathNotDirectory, `Cannot resolve "${vpath}" as "${name}" is not a directory`);
        case 'missing': {
          const rest = [name, ...queue.reverse()];
          if (rest.includes('..')) {
            // The kernel would fail the same way: `missing/..` does not exist.
            throw new KernelError(ErrorCode.PathNotFound, `Cannot resolve "${vpath}" as "${name}" does not exist`);
          }
          return await backend.missing(dir.ref, dirPath(), rest.filter((n) => n !== '.'));
        }
      }
    }
  } finally {
    // The root is released too: each backend owns every reference it handed out.
    for (let i = stack.length - 1; i >= 0; i -= 1) await backend.release((stack[i] as WalkDir<D>).ref);
  }
}

/**
 * Splits a symlink target into the names to walk. An absolute target must start with the
 * canonical root's own components (no `.`/`..` among them); anything else is `PATH_ESCAPE`.
 */
function splitLinkTarget(
  rootReal: string,
  target: string,
  vpath: VirtualPath,
  at: string,
): { absolute: boolean; names: string[] } {
  if (target === '') {
    throw new KernelError(ErrorCode.PathNotFound, `Cannot resolve "${vpath}" as "${at}" is an empty symbolic link`);
  }
  const names = target.split('/').filter((n) => n !== '' && n !== '.');
  if (!target.startsWith('/')) return { absolute: false, names };
  const rootNames = rootReal.split('/').filter((n) => n !== '');
  const inside = rootNames.every((n, i) => names[i] === n);
  if (!inside) {
    throw new KernelError(ErrorCode.PathEscape, `Cannot resolve "${vpath}" as the symbolic link "${at}" points outside the root`, {
      details: { reason: 'symlink-escape' },
    });
  }
  return { absolute: true, names: names.slice(rootNames.length) };
}
