// The fs capsule: file tools over a capability handle. Each tool's input carries the handle
// the kernel minted for this capsule and virtual paths inside its root; the kernel checks
// every access (handle, root, rights, manifest grants, ignore boundary), so this code only
// shapes requests and answers. Errors end the call with the airlock's code (CAPSULE_FAILED,
// details.capsuleCode), such as PATH_IGNORED or HANDLE_INVALID.
import { JSON } from "json-as";
import { FsEntry, fail, fsReadFile, fsReaddir, fsStat, fsWriteText, inputString, lastError, outputString } from "astrid-sdk";

const DEFAULT_READ_BYTES: i64 = 1048576;
const DEFAULT_ENTRIES: i32 = 1000;
const DEFAULT_RESULTS: i32 = 50;
const MAX_LINE_CHARS: i32 = 400;

@json
class ReadInput {
  handle: string = "";
  path: string = "";
  @optional max_bytes: i64 = DEFAULT_READ_BYTES;
}

@json
class ReadOutput {
  path: string = "";
  size: i64 = 0;
  content: string = "";
}

@json
class WriteInput {
  handle: string = "";
  path: string = "";
  content: string = "";
}

@json
class WriteOutput {
  path: string = "";
  size: i64 = 0;
}

@json
class ListInput {
  handle: string = "";
  path: string = "";
  @optional recursive: bool = false;
  @optional max_entries: i32 = DEFAULT_ENTRIES;
}

@json
class ListOutput {
  entries: FsEntry[] = [];
  truncated: bool = false;
}

@json
class SearchInput {
  handle: string = "";
  path: string = "";
  query: string = "";
  @optional max_results: i32 = DEFAULT_RESULTS;
  @optional max_file_bytes: i64 = DEFAULT_READ_BYTES;
}

@json
class SearchMatch {
  path: string = "";
  line: i32 = 0;
  text: string = "";
}

@json
class SearchOutput {
  matches: SearchMatch[] = [];
  truncated: bool = false;
  files_scanned: i32 = 0;
  files_skipped: i32 = 0;
}

function airlockFailure(): i32 {
  const e = lastError();
  return e !== null ? fail(e.code, e.message) : fail("INTERNAL", "airlock failed");
}

function clampI32(value: i32, lo: i32, hi: i32): i32 {
  return value < lo ? lo : value > hi ? hi : value;
}

/** read_file: the whole file as UTF-8 text, read in bounded chunks. */
export function read_file(): i32 {
  const req = JSON.parse<ReadInput>(inputString());
  const bytes = fsReadFile(req.handle, req.path, req.max_bytes);
  if (bytes === null) return airlockFailure();
  const out = new ReadOutput();
  out.path = req.path;
  out.size = bytes.length;
  out.content = String.UTF8.decode(bytes.buffer);
  outputString(JSON.stringify<ReadOutput>(out));
  return 0;
}

/** write_file: creates or replaces a file; it lands in the session as one write. */
export function write_file(): i32 {
  const req = JSON.parse<WriteInput>(inputString());
  if (!fsWriteText(req.handle, req.path, req.content)) return airlockFailure();
  const out = new WriteOutput();
  out.path = req.path;
  out.size = String.UTF8.byteLength(req.content);
  outputString(JSON.stringify<WriteOutput>(out));
  return 0;
}

/** list_dir: a directory's entries; with `recursive`, everything below it (parents first). */
export function list_dir(): i32 {
  const req = JSON.parse<ListInput>(inputString());
  const max = clampI32(req.max_entries, 1, 10000);
  const out = new ListOutput();
  const first = fsReaddir(req.handle, req.path);
  if (lastError() !== null) return airlockFailure();
  const queue: FsEntry[] = first;
  for (let i = 0; i < queue.length; i++) {
    if (out.entries.length >= max) {
      out.truncated = true;
      break;
    }
    const entry = queue[i];
    out.entries.push(entry);
    if (req.recursive && entry.kind == "dir") {
      const children = fsReaddir(req.handle, entry.path);
      if (lastError() !== null) return airlockFailure();
      for (let j = 0; j < children.length; j++) queue.push(children[j]);
    }
  }
  outputString(JSON.stringify<ListOutput>(out));
  return 0;
}

function hasNul(bytes: Uint8Array): bool {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] == 0) return true;
  return false;
}

/** search: lines containing `query` in the visible text files below `path`, bounded. */
export function search(): i32 {
  const req = JSON.parse<SearchInput>(inputString());
  if (req.query.length == 0) return fail("BAD_INPUT", "query is empty");
  const maxResults = clampI32(req.max_results, 1, 1000);
  const out = new SearchOutput();
  const start = fsStat(req.handle, req.path);
  if (start === null) {
    const e = lastError();
    return e !== null ? airlockFailure() : fail("PATH_NOT_FOUND", "Cannot search \"" + req.path + "\" as it does not exist");
  }
  const files: FsEntry[] = [];
  if (start.kind == "file") {
    const only = new FsEntry();
    only.path = start.path;
    only.kind = "file";
    only.size = start.size;
    files.push(only);
  } else {
    // Breadth-first over the visible tree: the kernel leaves hidden paths out of listings.
    const dirs: string[] = [start.path];
    for (let d = 0; d < dirs.length; d++) {
      const entries = fsReaddir(req.handle, dirs[d]);
      if (lastError() !== null) return airlockFailure();
      for (let i = 0; i < entries.length; i++) {
        if (entries[i].kind == "dir") dirs.push(entries[i].path);
        else files.push(entries[i]);
      }
    }
  }
  for (let f = 0; f < files.length && !out.truncated; f++) {
    const file = files[f];
    if (file.size > req.max_file_bytes) {
      out.files_skipped++;
      continue;
    }
    const bytes = fsReadFile(req.handle, file.path, req.max_file_bytes);
    if (bytes === null || hasNul(bytes)) {
      out.files_skipped++;
      continue;
    }
    out.files_scanned++;
    const lines = String.UTF8.decode(bytes.buffer).split("\n");
    for (let n = 0; n < lines.length; n++) {
      if (!lines[n].includes(req.query)) continue;
      if (out.matches.length >= maxResults) {
        out.truncated = true;
        break;
      }
      const m = new SearchMatch();
      m.path = file.path;
      m.line = n + 1;
      m.text = lines[n].length > MAX_LINE_CHARS ? lines[n].substring(0, MAX_LINE_CHARS) : lines[n];
      out.matches.push(m);
    }
  }
  outputString(JSON.stringify<SearchOutput>(out));
  return 0;
}
