import { Header, Pax, type HeaderData } from 'tar';
import {
  entryPathProblem,
  invalidArchive,
  tooLarge,
  unsafeEntry,
  type ArchiveLimits,
  type EntryKind,
} from './limits.ts';

const BLOCK = 512;
const MAX_META_BYTES = 64 * 1024;
const MAX_META_RUN = 4;

/** One entry of a `.capsule` archive that passed every safety check. */
export interface ArchiveEntry {
  /** Relative path without a trailing `/`. */
  readonly path: string;
  readonly kind: EntryKind;
  /** Body size in bytes (0 for a directory). */
  readonly size: number;
  /** Whether any execute bit was set in the entry's mode. */
  readonly executable: boolean;
  /** The body, in chunks. Read it before asking for the next entry; unread bytes are skipped. */
  body(): AsyncGenerator<Buffer>;
}

/** Reads exact byte counts out of a stream of chunks. */
class ByteReader {
  readonly #chunks: AsyncIterator<Buffer>;
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(chunks: AsyncIterator<Buffer>) {
    this.#chunks = chunks;
  }

  async #fill(size: number): Promise<boolean> {
    while (this.#buffer.length < size && !this.#ended) {
      const next = await this.#chunks.next();
      if (next.done === true) this.#ended = true;
      else this.#buffer = this.#buffer.length === 0 ? next.value : Buffer.concat([this.#buffer, next.value]);
    }
    return this.#buffer.length >= size;
  }

  /** Exactly `size` bytes, or null when the stream ends first. */
  async read(size: number): Promise<Buffer | null> {
    if (!(await this.#fill(size))) return null;
    const out = this.#buffer.subarray(0, size);
    this.#buffer = this.#buffer.subarray(size);
    return out;
  }

  /** Up to `size` bytes, one buffered chunk at a time; stops early only at the end of the stream. */
  async *take(size: number): AsyncGenerator<Buffer> {
    let left = size;
    while (left > 0) {
      if (!(await this.#fill(1))) return;
      const piece = this.#buffer.subarray(0, Math.min(left, this.#buffer.length));
      this.#buffer = this.#buffer.subarray(piece.length);
      left -= piece.length;
      yield piece;
    }
  }

  /** Discards `size` bytes without holding them; false when the stream ends first. */
  async skip(size: number): Promise<boolean> {
    let skipped = 0;
    for await (const piece of this.take(size)) skipped += piece.length;
    return skipped === size;
  }

  /** Every remaining chunk. */
  async *rest(): AsyncGenerator<Buffer> {
    if (this.#buffer.length > 0) yield this.#buffer;
    this.#buffer = Buffer.alloc(0);
    for (;;) {
      const next = await this.#chunks.next();
      if (next.done === true) return;
      yield next.value;
    }
  }

  async close(): Promise<void> {
    await this.#chunks.return?.();
  }
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function isZero(buffer: Buffer): boolean {
  for (const byte of buffer) if (byte !== 0) return false;
  return true;
}

// A NUL ends a name field; any byte after it means a crafted header hiding part of the name.
function hidesBytesAfterNul(block: Buffer, start: number, length: number): boolean {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return nul !== -1 && !isZero(field.subarray(nul));
}

function nameFieldsHideBytes(block: Buffer): boolean {
  if (hidesBytesAfterNul(block, 0, 100)) return true;
  if (block.subarray(257, 265).toString('latin1') !== 'ustar\u000000') return false;
  return hidesBytesAfterNul(block, 345, block[475] === 0 ? 130 : 155);
}

const REFUSED_TYPES: Readonly<Record<string, string>> = {
  Link: 'it is a hard link (archives may not contain links)',
  SymbolicLink: 'it is a symbolic link (archives may not contain links)',
  NextFileHasLongLinkpath: 'it is the target of a link (archives may not contain links)',
  CharacterDevice: 'it is a character device',
  BlockDevice: 'it is a block device',
  FIFO: 'it is a FIFO',
};

/**
 * Walks the entries of a tar stream (already inflated), refusing anything unsafe before the
 * caller sees it: links of any kind, devices, FIFOs and every other special type
 * (ARCHIVE_UNSAFE_ENTRY); absolute paths, `..`, NUL or control characters, over-long names
 * (ARCHIVE_UNSAFE_ENTRY); more than `maxEntries` entries, a file over `maxFileBytes`, declared
 * sizes over `maxTotalBytes` (ARCHIVE_TOO_LARGE); bad checksums, truncation, duplicate paths,
 * non-zero data after the end marker (ARCHIVE_INVALID). Supports pax (`x`) and GNU long-name
 * (`L`) headers; a global pax header (`g`) may only carry a comment. Leading `./` is dropped
 * and a `./` root directory entry skipped, as `tar -C dir -czf x .` writes them. Never writes.
 */
export async function* readTarEntries(
  chunks: AsyncIterator<Buffer>,
  name: string,
  limits: ArchiveLimits,
): AsyncGenerator<ArchiveEntry> {
  const reader = new ByteReader(chunks);
  const seen = new Set<string>();
  let declared = 0;
  let pending: HeaderData | undefined;
  let metaRun = 0;
  try {
    for (;;) {
      const block = await reader.read(BLOCK);
      if (block === null) throw invalidArchive(name, 'it ends before its end-of-archive marker');
      if (isZero(block)) {
        for await (const chunk of reader.rest()) {
          if (!isZero(chunk)) throw invalidArchive(name, 'it has data after its end-of-archive marker');
        }
        if (pending !== undefined) throw invalidArchive(name, 'it ends with an extended header that describes no entry');
        return;
      }
      if (nameFieldsHideBytes(block)) throw unsafeEntry(name, block.subarray(0, 100).toString('latin1'), 'its name contains a NUL byte');
      let header: Header;
      try {
        header = new Header(block, 0, pending);
      } catch (error) {
        throw invalidArchive(name, 'an entry header cannot be decoded', error);
      }
      if (!header.cksumValid) throw invalidArchive(name, 'an entry header has a bad checksum');
      const size = header.size ?? 0;
      if (!Number.isSafeInteger(size) || size < 0) throw invalidArchive(name, 'an entry header has an invalid size');
      const type = header.type;
      // node-tar's Header prepends the ustar prefix even to a pax path (its ReadEntry re-applies
      // the pax path afterwards); do the same, so a long path reads as its writer meant it.
      const path = pending?.path ?? header.path ?? '';

      if (type === 'ExtendedHeader' || type === 'NextFileHasLongPath' || type === 'GlobalExtendedHeader') {
        metaRun += 1;
        if (metaRun > MAX_META_RUN) throw invalidArchive(name, `it has more than ${MAX_META_RUN} extended headers in a row`);
        if (size > MAX_META_BYTES) throw invalidArchive(name, `it has an extended header larger than ${MAX_META_BYTES} bytes`);
        const body = (await reader.read(padded(size)))?.subarray(0, size);
        if (body === undefined) throw invalidArchive(name, 'it ends inside an extended header');
        if (type === 'NextFileHasLongPath') {
          const longName = body.subarray(0, body.includes(0) ? body.indexOf(0) : body.length);
          if (!isZero(body.subarray(longName.length))) throw unsafeEntry(name, longName.toString('utf8'), 'its name contains a NUL byte');
          pending = { ...pending, path: longName.toString('utf8') };
        } else if (body.includes(0)) {
          throw unsafeEntry(name, path, 'its extended header contains a NUL byte');
        } else if (type === 'ExtendedHeader') {
          pending = Pax.parse(body.toString('utf8'), pending, false);
        } else {
          const global = Pax.parse(body.toString('utf8'), undefined, true);
          const fields = Object.entries(global).filter(([key, value]) => value !== undefined && !['global', 'comment', 'charset'].includes(key));
          if (fields.length > 0) throw invalidArchive(name, 'it has a global extended header that changes entries');
        }
        continue;
      }
      metaRun = 0;
      pending = undefined;

      const refused = REFUSED_TYPES[type];
      if (refused !== undefined) throw unsafeEntry(name, path, refused);
      if (type !== 'File' && type !== 'OldFile' && type !== 'Directory') {
        throw unsafeEntry(name, path, `it has the unsupported type "${type}"`);
      }
      if ((header.linkpath ?? '') !== '') throw unsafeEntry(name, path, 'it names a link target');
      // `tar -C dir -czf x.capsule .` writes "./" and "./name": accept that one spelling.
      const relative = path.replace(/^(\.\/)+/, '');
      if (relative === '' || relative === '.') {
        if (type !== 'Directory') throw unsafeEntry(name, path, 'its path is unsafe: it names the archive root');
        continue;
      }
      const problem = entryPathProblem(relative, limits.maxPathBytes);
      if (problem !== null) throw unsafeEntry(name, path, `its path is unsafe: ${problem}`);

      const bare = relative.endsWith('/') ? relative.slice(0, -1) : relative;
      if (seen.has(bare)) throw invalidArchive(name, `it has two entries for "${bare}"`);
      seen.add(bare);
      if (seen.size > limits.maxEntries) {
        throw tooLarge(name, `it has more than ${limits.maxEntries} entries`, 'maxEntries', limits.maxEntries);
      }
      const kind = type === 'Directory' ? 'directory' : 'file';
      if (size > limits.maxFileBytes) {
        throw tooLarge(name, `entry "${bare}" is larger than ${limits.maxFileBytes} bytes`, 'maxFileBytes', limits.maxFileBytes);
      }
      declared += size;
      if (declared > limits.maxTotalBytes) {
        throw tooLarge(name, `its files add up to more than ${limits.maxTotalBytes} bytes`, 'maxTotalBytes', limits.maxTotalBytes);
      }

      let read = 0;
      yield {
        path: bare,
        kind,
        size,
        executable: ((header.mode ?? 0) & 0o111) !== 0,
        async *body() {
          for await (const piece of reader.take(size - read)) {
            read += piece.length;
            yield piece;
          }
          if (read < size) throw invalidArchive(name, `it ends inside entry "${bare}"`);
        },
      };
      const skip = padded(size) - read;
      if (skip > 0 && !(await reader.skip(skip))) throw invalidArchive(name, `it ends inside entry "${bare}"`);
    }
  } finally {
    await reader.close();
  }
}
