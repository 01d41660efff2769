import type { ProjectionStatus } from '../../kernel/projection/index.ts';
import { AstridCommand } from '../_support/base.ts';

/** `astrid projection list`: every projection with its version and checkpoint. */
export default class ProjectionList extends AstridCommand {
  static override summary = 'List projections with their version and checkpoint';
  static override examples = ['<%= config.bin %> projection list --json'];

  async run(): Promise<{ head: number; projections: readonly ProjectionStatus[] }> {
    const { flags } = await this.parse(ProjectionList);
    await using kernel = await this.openKernel(flags);
    const status = await kernel.status();
    for (const p of status.projections) this.log(`${p.name}\tv${p.version}\tseq ${p.checkpoint}${p.pinnedAt === null ? '' : '\tfrozen'}`);
    return { head: status.head.seq, projections: status.projections };
  }
}
