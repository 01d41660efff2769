import { Args } from '@oclif/core';
import type { VfsChangeReceipt } from '../../kernel/vfs/overlay/index.ts';
import { AstridCommand, CLI_SOURCE } from '../_support/base.ts';
import { sessionArg } from './_support/args.ts';

/** `astrid vfs mv`: moves a file or directory within a session. */
export default class VfsMv extends AstridCommand {
  static override summary = 'Move a file or directory in a VFS session';
  static override description =
    'Moves the path in the session\'s upper layer (a copy at the new path and a whiteout at the old one); `astrid vfs diff` ' +
    'reports a moved file as renamed. The target must not exist (PATH_EXISTS).';
  static override examples = ['<%= config.bin %> vfs mv S1 /a.txt /b.txt', '<%= config.bin %> vfs mv S1 /src/old /src/new --json'];
  static override args = {
    session: sessionArg,
    from: Args.string({ description: 'Existing virtual path', required: true }),
    to: Args.string({ description: 'New virtual path (must not exist)', required: true }),
  };

  async run(): Promise<VfsChangeReceipt> {
    const { args, flags } = await this.parse(VfsMv);
    await using kernel = await this.openKernel(flags);
    const receipt = await kernel.vfsRename(args.session, args.from, args.to, { source: CLI_SOURCE });
    this.log(`Moved ${args.from} to ${args.to} at seq ${receipt.seq}`);
    return receipt;
  }
}
