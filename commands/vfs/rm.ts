import { Args } from '@oclif/core';
import type { VfsChangeReceipt } from '../../kernel/vfs/overlay/index.ts';
import { AstridCommand, CLI_SOURCE } from '../_support/base.ts';
import { PATH_HELP, sessionArg } from './_support/args.ts';

/** `astrid vfs rm`: records a whiteout for a path and everything below it. */
export default class VfsRm extends AstridCommand {
  static override summary = 'Delete a file or directory in a VFS session';
  static override description =
    'Hides the path, and everything below it, from the session (a whiteout in the upper layer); the lower directory is ' +
    'only changed by `astrid vfs commit`. Refused with PATH_NOT_FOUND when the path is not visible.';
  static override examples = ['<%= config.bin %> vfs rm S1 /README.md', '<%= config.bin %> vfs rm S1 /build --json'];
  static override args = {
    session: sessionArg,
    path: Args.string({ description: PATH_HELP, required: true }),
  };

  async run(): Promise<VfsChangeReceipt> {
    const { args, flags } = await this.parse(VfsRm);
    await using kernel = await this.openKernel(flags);
    const receipt = await kernel.vfsRemove(args.session, args.path, { source: CLI_SOURCE });
    this.log(`Deleted ${args.path} at seq ${receipt.seq}`);
    return receipt;
  }
}
