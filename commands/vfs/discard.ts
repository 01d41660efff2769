import type { VfsChangeReceipt } from '../../kernel/vfs/overlay/index.ts';
import { AstridCommand, CLI_SOURCE } from '../_support/base.ts';
import { sessionArg } from './_support/args.ts';

/** `astrid vfs discard`: drops a session without touching its lower directory. */
export default class VfsDiscard extends AstridCommand {
  static override summary = 'Discard a VFS session and its changes';
  static override description =
    'Records `vfs.session.discarded`: the upper layer is dropped (its mirror under <home>/vfs/ is removed) and the lower ' +
    'directory is left exactly as it was. The session cannot be used afterwards.';
  static override examples = ['<%= config.bin %> vfs discard S1', '<%= config.bin %> vfs discard S1 --json'];
  static override args = { session: sessionArg };

  async run(): Promise<VfsChangeReceipt> {
    const { args, flags } = await this.parse(VfsDiscard);
    await using kernel = await this.openKernel(flags);
    const receipt = await kernel.vfsDiscard(args.session, { source: CLI_SOURCE });
    this.log(`Discarded ${args.session} at seq ${receipt.seq}`);
    return receipt;
  }
}
