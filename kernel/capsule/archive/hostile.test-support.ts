// Hand-made tar files for the archive tests: raw 512-byte ustar headers, written byte by byte
// so that a test can build exactly the hostile entry it means. Never exported from index.ts.
import { createHash } from 'node:crypto';
import { readFile, readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';

/** Typeflags of ustar. */
export const TYPE = { file: '0', hardLink: '1', symlink: '2', charDevice: '3', blockDevice: '4', directory: '5', fifo: '6', pax: 'x', gnuLongName: 'L' } as const;

/** Fields of one raw header; `name` may be a Buffer to smuggle NUL bytes. */
export interface RawHeader {
  readonly name: string | Buffer;
  readonly type?: string;
  readonly size?: number;
  readonly mode?: number;
  readonly linkname?: string;
  readonly devmajor?: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One 512-byte ustar header with a correct checksum. */
export function rawHeader(fields: RawHeader): Buffer {
  const block = Buffer.alloc(512);
  const name = typeof fields.name === 'string' ? Buffer.from(fields.name) : fields.name;
  name.copy(block, 0, 0, Math.min(100, name.length));
  block.write(octal(fields.mode ?? 0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(fields.size ?? 0, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii');
  block.write(fields.type ?? TYPE.file, 156, 'ascii');
  block.write(fields.linkname ?? '', 157, 'utf8');
  block.write('ustar\u000000', 257, 'latin1');
  block.write(octal(fields.devmajor ?? 0, 8), 329, 'ascii');
  block.write(octal(0, 8), 337, 'ascii');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** A header followed by its body, padded to whole blocks. */
export function rawEntry(fields: RawHeader, body: Buffer | string = ''): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const size = fields.size ?? bytes.length;
  const padding = Math.ceil(bytes.length / 512) * 512 - bytes.length;
  return Buffer.concat([rawHeader({ ...fields, size }), bytes, Buffer.alloc(padding)]);
}

/** A pax extended header carrying `records` (key → value), for the entry after it. */
export function paxEntry(records: Readonly<Record<string, string>>): Buffer {
  const body = Object.entries(records)
    .map(([key, value]) => {
      const line = ` ${key}=${value}\n`;
      let length = Buffer.byteLength(line) + 1;
      while (String(length).length + Buffer.byteLength(line) !== length) length += 1;
      return `${length}${line}`;
    })
    .join('');
  return rawEntry({ name: 'PaxHeader/x', type: TYPE.pax }, body);
}

/** A gzipped tar of the given raw entries, closed with the two zero blocks. */
export function gzipTar(...entries: Buffer[]): Buffer {
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));
}

/** Gzips raw tar bytes exactly as given (no end marker added). */
export function gzipRaw(raw: Buffer): Buffer {
  return gzipSync(raw);
}

/** A minimal valid Capsule.toml entry (no components). */
export function manifestEntry(name = 'hostile'): Buffer {
  return rawEntry({ name: 'Capsule.toml' }, `[package]\nname = "${name}"\nversion = "1.0.0"\n`);
}

/** Gzips `prefix` followed by `zeros` zero bytes without ever holding them in memory. */
export async function gzipZeros(prefix: Buffer, zeros: number): Promise<Buffer> {
  const chunk = Buffer.alloc(1024 * 1024);
  async function* source(): AsyncGenerator<Buffer> {
    yield prefix;
    for (let left = zeros; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(source()), createGzip({ level: 9 }), async (gz: AsyncIterable<Buffer>) => {
    for await (const piece of gz) out.push(piece);
  });
  return Buffer.concat(out);
}

/** Every path under `dir` with its kind and a hash of its content: a before/after snapshot. */
export async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string, rel: string): Promise<void> => {
    for (const name of (await readdir(path)).sort()) {
      const abs = join(path, name);
      const info = await lstat(abs);
      const kind = info.isDirectory() ? 'dir' : info.isSymbolicLink() ? 'link' : 'file';
      const digest = info.isFile() ? createHash('sha256').update(await readFile(abs)).digest('hex').slice(0, 16) : '';
      out.push(`${kind} ${rel}${name} ${(info.mode & 0o777).toString(8)} ${digest}`);
      if (info.isDirectory()) await walk(abs, `${rel}${name}/`);
    }
  };
  await walk(dir, '');
  return out;
}
