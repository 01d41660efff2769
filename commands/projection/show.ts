import { Args, Flags } from '@oclif/core';
import type { ProjectionPage } from '../../kernel/service/index.ts';
import { AstridCommand } from '../_support/base.ts';

/** `astrid projection show`: a projection's state, now or as of a seq. */
export default class ProjectionShow extends AstridCommand {
  static override summary = "Show a projection's state, as stored or as of any seq";
  static override description = 'Without --at it shows the stored state and its checkpoint; with --at N it computes the state as of seq N from the log, touching nothing.';
  static override examples = ['<%= config.bin %> projection show kv --json', '<%= config.bin %> projection show routes --at 10 --json'];
  static override args = { name: Args.string({ description: 'Projection name (kv, routes, …)', required: true }) };
  static override flags = {
    at: Flags.integer({ description: 'Compute the state as of this seq', min: 0 }),
    prefix: Flags.string({ description: 'Only keys starting with this' }),
    limit: Flags.integer({ description: 'At most this many entries', default: 1000, min: 1, max: 100_000 }),
  };

  async run(): Promise<ProjectionPage & { name: string }> {
    const { args, flags } = await this.parse(ProjectionShow);
    await using kernel = await this.openKernel(flags);
    const page = await kernel.projectionPage(args.name, {
      limit: flags.limit,
      ...(flags.at === undefined ? {} : { at: flags.at }),
      ...(flags.prefix === undefined ? {} : { prefix: flags.prefix }),
    });
    const frozen = page.status.pinnedAt === null ? '' : `, frozen at ${page.status.pinnedAt} by replay --until`;
    this.log(`${args.name} as of seq ${page.asOf} (log head ${page.head}${frozen})`);
    for (const [key, value] of page.entries) this.log(`${key}\t${JSON.stringify(value)}`);
    return { name: args.name, ...page };
  }
}
