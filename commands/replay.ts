import { Flags } from '@oclif/core';
import type { ReplayResult } from '../kernel/service/index.ts';
import { AstridCommand } from './_support/base.ts';
import { progressBar } from './_support/progress.ts';

/** `astrid replay`: drops projections and rebuilds them from the log. */
export default class Replay extends AstridCommand {
  static override summary = 'Drop every projection and rebuild it from the log';
  static override description =
    'Rebuilds projections from seq 1. With --until N they are rebuilt as of seq N and stay frozen there (for inspection) ' +
    'until a replay without --until; new events are still logged meanwhile. Shows progress on a terminal.';
  static override examples = ['<%= config.bin %> replay', '<%= config.bin %> replay --until 42', '<%= config.bin %> replay --projection kv'];
  static override flags = {
    until: Flags.integer({ description: 'Rebuild as of this seq and freeze there', min: 0 }),
    projection: Flags.string({ description: 'Only this projection (repeatable)', multiple: true }),
  };

  async run(): Promise<ReplayResult> {
    const { flags } = await this.parse(Replay);
    await using kernel = await this.openKernel(flags);
    const bar = progressBar('Replaying', { quiet: this.jsonEnabled() });
    const result = await kernel.replay({
      ...(flags.until === undefined ? {} : { until: flags.until }),
      ...(flags.projection === undefined ? {} : { names: flags.projection }),
      onProgress: (p) => bar.update(p.seq, p.head),
    });
    bar.finish();
    for (const p of result.projections) {
      this.log(`${p.name} v${p.version}: at seq ${p.checkpoint}${p.pinnedAt === null ? '' : ` (frozen until a full replay)`}`);
    }
    return result;
  }
}
