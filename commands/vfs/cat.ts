import { Args } from '@oclif/core';
import { AstridCommand } from '../_support/base.ts';
import { PATH_HELP, sessionArg } from './_support/args.ts';

/** The result of `astrid vfs cat --json`: the bytes in base64, since they need not be text. */
export interface VfsCatResult {
  readonly session: string;
  readonly path: string;
  readonly size: number;
  readonly base64: string;
}

/** `astrid vfs cat`: a file's bytes through the overlay, raw on stdout. */
export default class VfsCat extends AstridCommand {
  static override summary = 'Print a file of a VFS session (upper over lower) as raw bytes';
  static override description =
    'Writes the file\'s bytes to stdout unchanged (no added newline), as the session sees it: its own version if it wrote ' +
    'one, else the lower directory\'s. Hidden paths are refused with PATH_IGNORED. --json prints {"session", "path", ' +
    '"size", "base64"} (the whole file in memory, so use it for small files).';
  static override examples = ['<%= config.bin %> vfs cat S1 /src/new.ts', '<%= config.bin %> vfs cat S1 /logo.png > logo.png'];
  static override args = {
    session: sessionArg,
    path: Args.string({ description: PATH_HELP, required: true }),
  };

  async run(): Promise<VfsCatResult> {
    const { args, flags } = await this.parse(VfsCat);
    await using kernel = await this.openKernel(flags);
    // Streamed in chunks from one open of the file: any size, bounded memory, with or without a daemon.
    const json = this.jsonEnabled();
    const kept: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of kernel.vfsReadChunks(args.session, args.path)) {
      size += chunk.byteLength;
      if (json) kept.push(chunk);
      else await new Promise<void>((resolve, reject) => process.stdout.write(chunk, (error) => (error ? reject(error) : resolve())));
    }
    return { session: args.session, path: args.path, size, base64: Buffer.concat(kept).toString('base64') };
  }
}
