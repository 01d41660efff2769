import { Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { AstridCommand, CLI_SOURCE } from '../../_support/base.ts';

/** The result of `astrid vfs session open`. */
export interface VfsSessionOpenResult {
  readonly id: string;
  /** The canonical absolute path of the lower directory. */
  readonly lower: string;
  readonly seq: number;
}

/** `astrid vfs session open`: records `vfs.session.opened` over a read-only lower directory. */
export default class VfsSessionOpen extends AstridCommand {
  static override summary = 'Open a copy-on-write session over a directory';
  static override description =
    'The directory (the lower layer) stays byte-for-byte untouched until `astrid vfs commit`: writes, deletions and moves ' +
    'land in the session\'s upper layer, which lives in the event log and is mirrored under <home>/vfs/<session>/. ' +
    'Paths hidden by .astridignore or the built-in secret rules (.env, keys…) are neither listed, readable nor writable. ' +
    'Prints the session id; --json prints {"id", "lower", "seq"}.';
  static override examples = ['<%= config.bin %> vfs session open --lower ./myrepo', '<%= config.bin %> vfs session open --lower ./myrepo --json'];
  static override flags = { lower: Flags.string({ description: 'The directory to work over; read-only until commit', required: true }) };

  async run(): Promise<VfsSessionOpenResult> {
    const { flags } = await this.parse(VfsSessionOpen);
    await using kernel = await this.openKernel(flags);
    const opened = await kernel.vfsOpen(resolve(flags.lower), { source: CLI_SOURCE });
    this.log(opened.id);
    return opened;
  }
}
