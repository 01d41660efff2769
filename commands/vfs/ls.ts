import { Args } from '@oclif/core';
import type { OverlayEntry } from '../../kernel/vfs/overlay/index.ts';
import { AstridCommand } from '../_support/base.ts';
import { PATH_HELP, sessionArg } from './_support/args.ts';

/** The result of `astrid vfs ls`. */
export interface VfsLsResult {
  readonly session: string;
  readonly path: string;
  readonly entries: readonly OverlayEntry[];
}

/** `astrid vfs ls`: the merged listing of a directory of a session. */
export default class VfsLs extends AstridCommand {
  static override summary = 'List a directory of a VFS session (upper over lower)';
  static override description =
    'Lists the merged view: the session\'s own files over the lower directory\'s, without deleted paths and without paths ' +
    'hidden by .astridignore or the built-in secret rules. Prints one entry per line, directories with a trailing "/" and ' +
    'files with their size; --json prints {"session", "path", "entries": [{"name", "path", "kind", "size"}]}.';
  static override examples = ['<%= config.bin %> vfs ls S1', '<%= config.bin %> vfs ls S1 /src --json'];
  static override args = {
    session: sessionArg,
    path: Args.string({ description: `${PATH_HELP} (default "/")`, default: '/' }),
  };

  async run(): Promise<VfsLsResult> {
    const { args, flags } = await this.parse(VfsLs);
    await using kernel = await this.openKernel(flags);
    const entries = await kernel.vfsList(args.session, args.path);
    for (const e of entries) this.log(e.kind === 'dir' ? `${e.name}/` : `${e.name}\t${e.size ?? 0}`);
    return { session: args.session, path: args.path, entries };
  }
}
