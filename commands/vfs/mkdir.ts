import { Args } from '@oclif/core';
import type { VfsChangeReceipt } from '../../kernel/vfs/overlay/index.ts';
import { AstridCommand, CLI_SOURCE } from '../_support/base.ts';
import { PATH_HELP, sessionArg } from './_support/args.ts';

/** `astrid vfs mkdir`: creates a directory in a session. */
export default class VfsMkdir extends AstridCommand {
  static override summary = 'Create a directory in a VFS session';
  static override description =
    'Creates the directory in the session\'s upper layer. Its parent must exist (PATH_NOT_FOUND otherwise) and the path ' +
    'must be free (PATH_EXISTS).';
  static override examples = ['<%= config.bin %> vfs mkdir S1 /src/lib', '<%= config.bin %> vfs mkdir S1 /docs --json'];
  static override args = {
    session: sessionArg,
    path: Args.string({ description: PATH_HELP, required: true }),
  };

  async run(): Promise<VfsChangeReceipt> {
    const { args, flags } = await this.parse(VfsMkdir);
    await using kernel = await this.openKernel(flags);
    const receipt = await kernel.vfsMkdir(args.session, args.path, { source: CLI_SOURCE });
    this.log(`Created ${args.path} at seq ${receipt.seq}`);
    return receipt;
  }
}
