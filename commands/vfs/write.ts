import { Args, Flags } from '@oclif/core';
import { readFile } from 'node:fs/promises';
import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';
import type { VfsChangeReceipt } from '../../kernel/vfs/overlay/index.ts';
import { AstridCommand, CLI_SOURCE } from '../_support/base.ts';
import { readStdinBytes } from '../_support/stdin.ts';
import { PATH_HELP, sessionArg } from './_support/args.ts';

/** The result of `astrid vfs write`. */
export type VfsWriteResult = VfsChangeReceipt & { readonly path: string; readonly size: number };

/** `astrid vfs write`: writes a file into a session's upper layer, from a file or stdin. */
export default class VfsWrite extends AstridCommand {
  static override summary = 'Write a file in a VFS session (from --from FILE or stdin)';
  static override description =
    'Creates or replaces the file in the session\'s upper layer; the lower directory is not touched. Missing parent ' +
    'directories must be created first with `astrid vfs mkdir`. Refused with PATH_IGNORED for a path hidden by .astridignore ' +
    'or the built-in secret rules, and with PATH_ESCAPE for a path leaving the root.';
  static override examples = [
    '<%= config.bin %> vfs write S1 /src/new.ts --from ./draft.ts',
    'echo hi | <%= config.bin %> vfs write S1 /hello.txt',
  ];
  static override args = {
    session: sessionArg,
    path: Args.string({ description: PATH_HELP, required: true }),
  };
  static override flags = { from: Flags.string({ description: 'Read the content from this file instead of stdin' }) };

  async run(): Promise<VfsWriteResult> {
    const { args, flags } = await this.parse(VfsWrite);
    const bytes = flags.from === undefined ? await readStdin() : await readSource(flags.from);
    await using kernel = await this.openKernel(flags);
    const receipt = await kernel.vfsWrite(args.session, args.path, bytes, { source: CLI_SOURCE });
    this.log(`Wrote ${args.path} (${receipt.size} bytes) at seq ${receipt.seq}`);
    return { ...receipt, path: args.path };
  }
}

async function readSource(file: string): Promise<Buffer> {
  return readFile(file).catch((cause: unknown) => {
    throw new KernelError(ErrorCode.NotFound, `Cannot read "${file}" as it cannot be opened`, { cause, details: { path: file } });
  });
}

/** All of stdin; refuses a terminal, which would otherwise wait silently for input. */
async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY === true) {
    throw new KernelError(ErrorCode.InvalidArgument, 'Cannot write without content: pass --from FILE or pipe the content to stdin');
  }
  return readStdinBytes();
}
