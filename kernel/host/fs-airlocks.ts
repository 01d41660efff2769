/**
 * The file airlocks, worker side. They only read and bound their arguments and forward them
 * over the synchronous bridge: the kernel key, the handle checks and the open files all live
 * on the main thread (see `CapsuleFiles`). Results are JSON; file bytes come back base64.
 */
import { airlock, readBytes, readInt, readText, type HostFn } from './abi.ts';
import type { BridgeRequest } from './protocol.ts';
import type { FsEntry, FsStat } from './services.ts';

/** Longest handle, in bytes, an fs airlock reads (the token codec's own limit). */
const HANDLE_BYTES = 8192;
/** Longest path argument: the VFS refuses longer paths anyway. */
const PATH_BYTES = 4096 + 16;
const FD_MAX = 2 ** 31 - 1;

/** Bounds of the file airlocks. */
export const FsAirlockLimits = {
  /** Most bytes one `astrid_fs_read` may ask for; the kernel may cap it lower (64 KiB by default). */
  readBytes: 1024 * 1024,
  /** Most bytes one `astrid_fs_write` takes. */
  writeBytes: 1024 * 1024,
} as const;

/** A stat or listing entry as JSON: a directory has no `size` key. */
function entryJson(entry: FsStat & { name?: string }): string {
  const name = entry.name === undefined ? '' : `"name":${JSON.stringify(entry.name)},`;
  const size = entry.kind === 'file' && entry.size !== null ? `,"size":${entry.size}` : '';
  return `{${name}"path":${JSON.stringify(entry.path)},"kind":"${entry.kind}"${size}}`;
}

/** Builds the `astrid_fs_*` host functions over the worker's bridge. */
export function fsAirlocks(request: (request: BridgeRequest) => unknown): Record<string, HostFn> {
  const handleArg = (cx: Parameters<HostFn>[0], fn: string, h: unknown): string => readText(cx, fn, 1, h, HANDLE_BYTES);
  const pathArg = (cx: Parameters<HostFn>[0], fn: string, pos: number, p: unknown): string => readText(cx, fn, pos, p, PATH_BYTES);
  return {
    astrid_fs_open: airlock('astrid_fs_open', (cx, [h, p, m]) => {
      const handle = handleArg(cx, 'astrid_fs_open', h);
      const path = pathArg(cx, 'astrid_fs_open', 2, p);
      const mode = readText(cx, 'astrid_fs_open', 3, m, 8);
      return JSON.stringify(request({ op: 'fsOpen', handle, path, mode }));
    }),
    astrid_fs_read: airlock('astrid_fs_read', (cx, [f, m]) => {
      const fd = readInt('astrid_fs_read', 1, f, 0, FD_MAX);
      const max = readInt('astrid_fs_read', 2, m, 1, FsAirlockLimits.readBytes);
      const { bytes, eof } = request({ op: 'fsRead', fd, max }) as { bytes: Uint8Array; eof: boolean };
      return `{"data":"${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}","eof":${eof}}`;
    }),
    astrid_fs_write: airlock('astrid_fs_write', (cx, [f, b]) => {
      const fd = readInt('astrid_fs_write', 1, f, 0, FD_MAX);
      const bytes = readBytes(cx, 'astrid_fs_write', 2, b, FsAirlockLimits.writeBytes);
      return JSON.stringify(request({ op: 'fsWrite', fd, bytes }));
    }),
    astrid_fs_close: airlock('astrid_fs_close', (_cx, [f]) => {
      const fd = readInt('astrid_fs_close', 1, f, 0, FD_MAX);
      return JSON.stringify(request({ op: 'fsClose', fd }));
    }),
    astrid_fs_stat: airlock('astrid_fs_stat', (cx, [h, p]) => {
      const req = { op: 'fsStat', handle: handleArg(cx, 'astrid_fs_stat', h), path: pathArg(cx, 'astrid_fs_stat', 2, p) } as const;
      const found = request(req) as FsStat | null;
      return found === null ? 'null' : entryJson(found);
    }),
    astrid_fs_readdir: airlock('astrid_fs_readdir', (cx, [h, p]) => {
      const req = { op: 'fsReaddir', handle: handleArg(cx, 'astrid_fs_readdir', h), path: pathArg(cx, 'astrid_fs_readdir', 2, p) } as const;
      return `[${(request(req) as FsEntry[]).map(entryJson).join(',')}]`;
    }),
    astrid_fs_mkdir: airlock('astrid_fs_mkdir', (cx, [h, p]) => {
      request({ op: 'fsMkdir', handle: handleArg(cx, 'astrid_fs_mkdir', h), path: pathArg(cx, 'astrid_fs_mkdir', 2, p) });
      return 'null';
    }),
    astrid_fs_remove: airlock('astrid_fs_remove', (cx, [h, p]) => {
      request({ op: 'fsRemove', handle: handleArg(cx, 'astrid_fs_remove', h), path: pathArg(cx, 'astrid_fs_remove', 2, p) });
      return 'null';
    }),
    astrid_fs_rename: airlock('astrid_fs_rename', (cx, [h, a, b]) => {
      const handle = handleArg(cx, 'astrid_fs_rename', h);
      request({ op: 'fsRename', handle, from: pathArg(cx, 'astrid_fs_rename', 2, a), to: pathArg(cx, 'astrid_fs_rename', 3, b) });
      return 'null';
    }),
  };
}
