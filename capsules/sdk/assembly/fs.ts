// Typed wrappers of the file airlocks. Every call takes a capability handle (a string the
// kernel minted for this capsule) and a virtual path inside the handle's root. On failure a
// wrapper returns -1, null, false or an empty array, and `lastError()` holds the code:
// HANDLE_INVALID, PATH_INVALID, PATH_ESCAPE, CAPABILITY_DENIED, PATH_IGNORED, PATH_NOT_FOUND,
// PATH_EXISTS, PATH_IS_DIRECTORY, PATH_NOT_DIRECTORY, READ_ONLY, SESSION_NOT_FOUND, ...
import { JSON } from "json-as";
import { base64Decode } from "./base64";
import { allocBytes, allocString, release } from "./memory";
import { VoidResult, lastError, settle, take, voidCall } from "./results";

@external("extism:host/user", "astrid_fs_open")
declare function astrid_fs_open(handle: u64, path: u64, mode: u64): u64;
@external("extism:host/user", "astrid_fs_read")
declare function astrid_fs_read(fd: u64, max: u64): u64;
@external("extism:host/user", "astrid_fs_write")
declare function astrid_fs_write(fd: u64, bytes: u64): u64;
@external("extism:host/user", "astrid_fs_close")
declare function astrid_fs_close(fd: u64): u64;
@external("extism:host/user", "astrid_fs_stat")
declare function astrid_fs_stat(handle: u64, path: u64): u64;
@external("extism:host/user", "astrid_fs_readdir")
declare function astrid_fs_readdir(handle: u64, path: u64): u64;
@external("extism:host/user", "astrid_fs_mkdir")
declare function astrid_fs_mkdir(handle: u64, path: u64): u64;
@external("extism:host/user", "astrid_fs_remove")
declare function astrid_fs_remove(handle: u64, path: u64): u64;
@external("extism:host/user", "astrid_fs_rename")
declare function astrid_fs_rename(handle: u64, from: u64, to: u64): u64;

/** The most bytes the kernel returns from one read by default. */
export const FS_CHUNK: i32 = 65536;
/** The most bytes one `fsWrite` sends; `fsWriteFile` splits larger buffers. */
export const FS_WRITE_PIECE: i32 = 262144;

/** A path's kind (`"file"` or `"dir"`) and size (-1 for a directory). */
@json
export class FsStat {
  path: string = "";
  kind: string = "";
  @optional size: i64 = -1;
}

/** One directory entry. */
@json
export class FsEntry {
  name: string = "";
  path: string = "";
  kind: string = "";
  @optional size: i64 = -1;
}

/** One chunk of a read: its bytes and whether the end of the file was reached. */
export class FsChunk {
  constructor(public data: Uint8Array, public eof: bool) {}
}

@json
class OpenValue {
  fd: i64 = 0;
  size: i64 = 0;
}

@json
class OpenResult {
  ok: bool = false;
  @optional value: OpenValue | null = null;
  @optional code: string = "";
  @optional message: string = "";
}

@json
class ChunkValue {
  data: string = "";
  eof: bool = false;
}

@json
class ChunkResult {
  ok: bool = false;
  @optional value: ChunkValue | null = null;
  @optional code: string = "";
  @optional message: string = "";
}

@json
class NumberResult {
  ok: bool = false;
  @optional value: i64 = 0;
  @optional code: string = "";
  @optional message: string = "";
}

@json
class StatResult {
  ok: bool = false;
  @optional value: FsStat | null = null;
  @optional code: string = "";
  @optional message: string = "";
}

@json
class EntriesResult {
  ok: bool = false;
  @optional value: FsEntry[] = [];
  @optional code: string = "";
  @optional message: string = "";
}


// The four (handle, path) airlocks by number: an external function cannot be passed as a value.
const STAT = 0;
const READDIR = 1;
const MKDIR = 2;
const REMOVE = 3;

function pathCall(which: i32, handle: string, path: string): string {
  const h = allocString(handle);
  const p = allocString(path);
  let result: u64 = 0;
  if (which == STAT) result = astrid_fs_stat(h, p);
  else if (which == READDIR) result = astrid_fs_readdir(h, p);
  else if (which == MKDIR) result = astrid_fs_mkdir(h, p);
  else result = astrid_fs_remove(h, p);
  const text = take(result);
  release(h);
  release(p);
  return text;
}

/** Opens a file: `"r"` to read, `"w"` to replace it (bytes land at `fsClose`). Returns an fd or -1. */
export function fsOpen(handle: string, path: string, mode: string = "r"): i64 {
  const h = allocString(handle);
  const p = allocString(path);
  const m = allocString(mode);
  const r = JSON.parse<OpenResult>(take(astrid_fs_open(h, p, m)));
  release(h);
  release(p);
  release(m);
  const value = r.value;
  return settle(r.ok, r.code, r.message) && value !== null ? value.fd : -1;
}

/** Reads the next at most `max` bytes (the kernel caps a chunk, 64 KiB by default); null on error. */
export function fsRead(fd: i64, max: i32 = FS_CHUNK): FsChunk | null {
  const r = JSON.parse<ChunkResult>(take(astrid_fs_read(<u64>fd, <u64>max)));
  const value = r.value;
  if (!settle(r.ok, r.code, r.message) || value === null) return null;
  return new FsChunk(base64Decode(value.data), value.eof);
}

/** Buffers bytes on a `"w"` fd (at most 1 MiB per call). */
export function fsWrite(fd: i64, bytes: Uint8Array): bool {
  const b = allocBytes(bytes);
  const r = JSON.parse<NumberResult>(take(astrid_fs_write(<u64>fd, b)));
  release(b);
  return settle(r.ok, r.code, r.message);
}

/** Closes an fd; a `"w"` fd's bytes land now, as one write. Returns the file's size or -1. */
export function fsClose(fd: i64): i64 {
  const r = JSON.parse<NumberResult>(take(astrid_fs_close(<u64>fd)));
  return settle(r.ok, r.code, r.message) ? r.value : -1;
}

/** A path's kind and size; null when absent (then `lastError()` is null) or on error. */
export function fsStat(handle: string, path: string): FsStat | null {
  const r = JSON.parse<StatResult>(pathCall(STAT, handle, path));
  settle(r.ok, r.code, r.message);
  return r.ok ? r.value : null;
}

/** A directory's visible entries, sorted by name (empty on error). */
export function fsReaddir(handle: string, path: string): FsEntry[] {
  const r = JSON.parse<EntriesResult>(pathCall(READDIR, handle, path));
  return settle(r.ok, r.code, r.message) ? r.value : [];
}

/** Creates a directory (its parent must exist). */
export function fsMkdir(handle: string, path: string): bool {
  const r = JSON.parse<VoidResult>(pathCall(MKDIR, handle, path));
  return settle(r.ok, r.code, r.message);
}

/** Deletes a file or a directory with everything below it. */
export function fsRemove(handle: string, path: string): bool {
  const r = JSON.parse<VoidResult>(pathCall(REMOVE, handle, path));
  return settle(r.ok, r.code, r.message);
}

/** Moves a path within the same mount. */
export function fsRename(handle: string, from: string, to: string): bool {
  const h = allocString(handle);
  const a = allocString(from);
  const b = allocString(to);
  const ok = voidCall(astrid_fs_rename(h, a, b));
  release(h);
  release(a);
  release(b);
  return ok;
}

/**
 * Reads a whole file in chunks of at most `chunk` bytes, refusing one larger than `limit`
 * (`lastError()` is then PAYLOAD_TOO_LARGE). Null on error.
 */
export function fsReadFile(handle: string, path: string, limit: i64 = 16777216, chunk: i32 = FS_CHUNK): Uint8Array | null {
  const fd = fsOpen(handle, path, "r");
  if (fd < 0) return null;
  const parts: Uint8Array[] = [];
  let total: i64 = 0;
  for (;;) {
    const c = fsRead(fd, chunk);
    if (c === null) {
      const error = lastError()!;
      fsClose(fd);
      settle(false, error.code, error.message);
      return null;
    }
    if (c.data.length > 0) {
      total += c.data.length;
      if (total > limit) {
        fsClose(fd);
        settle(false, "PAYLOAD_TOO_LARGE", "the file is larger than " + limit.toString() + " bytes");
        return null;
      }
      parts.push(c.data);
    }
    if (c.eof) break;
  }
  fsClose(fd);
  const out = new Uint8Array(<i32>total);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i], at);
    at += parts[i].length;
  }
  settle(true, "", "");
  return out;
}

/** As {@link fsReadFile}, decoded as UTF-8 text. */
export function fsReadText(handle: string, path: string, limit: i64 = 16777216): string | null {
  const bytes = fsReadFile(handle, path, limit);
  return bytes === null ? null : String.UTF8.decode(bytes.buffer);
}

/** Replaces (or creates) a file with `bytes`, in pieces, landing as one write at close. */
export function fsWriteFile(handle: string, path: string, bytes: Uint8Array): bool {
  const fd = fsOpen(handle, path, "w");
  if (fd < 0) return false;
  for (let at = 0; at < bytes.length; at += FS_WRITE_PIECE) {
    const end = min(at + FS_WRITE_PIECE, bytes.length);
    // On failure the fd stays open: the call's end drops its bytes, nothing lands.
    if (!fsWrite(fd, bytes.subarray(at, end))) return false;
  }
  return fsClose(fd) >= 0;
}

/** As {@link fsWriteFile}, with UTF-8 text. */
export function fsWriteText(handle: string, path: string, text: string): bool {
  return fsWriteFile(handle, path, Uint8Array.wrap(String.UTF8.encode(text)));
}
