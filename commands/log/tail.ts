import { Flags } from '@oclif/core';
import type { HashedEvent } from '../../kernel/events/index.ts';
import { AstridCommand } from '../_support/base.ts';
import { eventLine } from '../_support/format.ts';
import { interruptSignal, resumable } from '../_support/resilient.ts';

/** `astrid log tail`: follows events as they are appended; NDJSON under --json. */
export default class LogTail extends AstridCommand {
  static override summary = 'Follow new events as they are appended';
  static override description = 'Prints each event once it is durable. Survives daemon restarts without losing or repeating an event. Under --json each event is one JSON line.';
  static override examples = ['<%= config.bin %> log tail', '<%= config.bin %> log tail --from 1 --count 5 --json'];
  static override flags = {
    from: Flags.integer({ description: 'Start at this seq; default: only new events', min: 1 }),
    count: Flags.integer({ description: 'Exit after this many events', min: 1 }),
  };

  async run(): Promise<undefined> {
    const { flags } = await this.parse(LogTail);
    const signal = interruptSignal();
    const json = this.jsonEnabled();
    let n = 0;
    const events = resumable<HashedEvent>(
      (afterHandover) => this.openKernel(flags, { yieldable: true, ...(afterHandover ? { remoteOnlyMs: 5_000 } : {}) }),
      (kernel, from, s) => kernel.follow({ signal: s, ...(from === undefined ? {} : { from }) }),
      { signal, ...(flags.from === undefined ? {} : { from: flags.from }) },
    );
    for await (const event of events) {
      this.line(json ? JSON.stringify(event) : eventLine(event));
      if (flags.count !== undefined && ++n >= flags.count) break;
    }
    return undefined;
  }
}
