import type { CommitSummary, VfsChangeReceipt } from '../../kernel/vfs/overlay/index.ts';
import { AstridCommand, CLI_SOURCE } from '../_support/base.ts';
import { sessionArg } from './_support/args.ts';

/** The result of `astrid vfs commit`. */
export type VfsCommitResult = VfsChangeReceipt & CommitSummary;

/** `astrid vfs commit`: applies a session's upper layer onto its lower directory. */
export default class VfsCommit extends AstridCommand {
  static override summary = 'Apply a VFS session\'s changes onto its lower directory';
  static override description =
    'Writes, deletes and creates in the lower directory what `astrid vfs diff` shows (files atomically, never following a ' +
    'symlink out of the directory), then records `vfs.session.committed` and closes the session. Not atomic as a whole: ' +
    'if it is interrupted, run it again to finish.';
  static override examples = ['<%= config.bin %> vfs commit S1', '<%= config.bin %> vfs commit S1 --json'];
  static override args = { session: sessionArg };

  async run(): Promise<VfsCommitResult> {
    const { args, flags } = await this.parse(VfsCommit);
    await using kernel = await this.openKernel(flags);
    const receipt = await kernel.vfsCommit(args.session, { source: CLI_SOURCE });
    this.log(`Committed ${args.session} at seq ${receipt.seq}: ${receipt.written} written, ${receipt.deleted} deleted, ${receipt.dirs} director${receipt.dirs === 1 ? 'y' : 'ies'} created`);
    return receipt;
  }
}
