import type { DiffEntry } from '../../kernel/vfs/overlay/index.ts';
import { AstridCommand } from '../_support/base.ts';
import { sessionArg } from './_support/args.ts';

/** The result of `astrid vfs diff`. */
export interface VfsDiffResult {
  readonly session: string;
  readonly changes: readonly DiffEntry[];
}

const LETTER: Readonly<Record<DiffEntry['change'], string>> = { added: 'A', modified: 'M', deleted: 'D', renamed: 'R' };

/** `astrid vfs diff`: what committing a session would change in its lower directory. */
export default class VfsDiff extends AstridCommand {
  static override summary = 'Show what committing a VFS session would change';
  static override description =
    'Compares the session with its lower directory: paths added, files modified, paths deleted, and files renamed (a ' +
    'deleted file whose bytes reappear at one added path). One line per change, git-style: "A /new.ts", "M /a.ts", ' +
    '"D /old.ts", "R /a.txt -> /b.txt". --json prints {"session", "changes": [{"change", "path", "kind", "from"?}]}.';
  static override examples = ['<%= config.bin %> vfs diff S1', '<%= config.bin %> vfs diff S1 --json'];
  static override args = { session: sessionArg };

  async run(): Promise<VfsDiffResult> {
    const { args, flags } = await this.parse(VfsDiff);
    await using kernel = await this.openKernel(flags);
    const changes = await kernel.vfsDiff(args.session);
    for (const c of changes) {
      const dir = c.kind === 'dir' ? '/' : '';
      this.log(c.change === 'renamed' ? `R ${c.from} -> ${c.path}` : `${LETTER[c.change]} ${c.path}${dir}`);
    }
    return { session: args.session, changes };
  }
}
