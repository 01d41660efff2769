import { Flags } from '@oclif/core';
import type { HashedEvent } from '../../kernel/events/index.ts';
import { AstridCommand } from '../_support/base.ts';
import { eventLine } from '../_support/format.ts';

/** `astrid log show`: envelopes in seq order; under --json, the array of envelopes. */
export default class LogShow extends AstridCommand {
  static override summary = 'Show events of the log in order';
  static override examples = ['<%= config.bin %> log show --from 1 --limit 20 --json', '<%= config.bin %> log show --from 40'];
  static override flags = {
    from: Flags.integer({ description: 'First seq', default: 1, min: 1 }),
    limit: Flags.integer({ description: 'At most this many events', default: 20, min: 1, max: 10_000 }),
  };

  async run(): Promise<HashedEvent[]> {
    const { flags } = await this.parse(LogShow);
    await using kernel = await this.openKernel(flags);
    const events = await kernel.read({ from: flags.from, limit: flags.limit });
    for (const event of events) this.log(eventLine(event));
    return events;
  }
}
