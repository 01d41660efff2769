import { Args, Flags } from '@oclif/core';
import type { BusMessage } from '../../kernel/service/index.ts';
import { AstridCommand, CLI_SOURCE } from '../_support/base.ts';
import { interruptSignal, resumable } from '../_support/resilient.ts';

/** The result of `astrid bus subscribe` (messages themselves stream as NDJSON under --json). */
export interface SubscribeResult {
  readonly received: number;
}

/** `astrid bus subscribe`: prints matching messages from the log, then follows live ones. */
export default class BusSubscribe extends AstridCommand {
  static override summary = 'Print messages whose subject matches a pattern, then follow new ones';
  static override description =
    'A subscription is a cursor over the log: with --from it replays stored messages first, then follows live ones, ' +
    'surviving daemon restarts without losing or repeating a message. "*" matches one token, a final ">" the rest. ' +
    'Under --json each message is one JSON line.';
  static override examples = [`<%= config.bin %> bus subscribe 'agent.>' --from 0`, `<%= config.bin %> bus subscribe 'load.*' --count 10 --json`];
  static override args = { pattern: Args.string({ description: 'Subject pattern', required: true }) };
  static override flags = {
    from: Flags.integer({ description: 'Start at this seq (0 or 1: from the beginning); default: only new messages', min: 0 }),
    count: Flags.integer({ description: 'Exit after this many messages', min: 1 }),
  };

  async run(): Promise<SubscribeResult | undefined> {
    const { args, flags } = await this.parse(BusSubscribe);
    const signal = interruptSignal();
    const json = this.jsonEnabled();
    let received = 0;
    const messages = resumable<BusMessage>(
      (afterHandover) => this.openKernel(flags, { yieldable: true, ...(afterHandover ? { remoteOnlyMs: 5_000 } : {}) }),
      (kernel, from, s) => kernel.subscribe(args.pattern, { signal: s, source: CLI_SOURCE, ...(from === undefined ? {} : { from }) }),
      { signal, ...(flags.from === undefined ? {} : { from: Math.max(1, flags.from) }) },
    );
    for await (const message of messages) {
      received++;
      this.line(json ? JSON.stringify(message) : `${message.seq} ${message.subject} ${JSON.stringify(message.payload)}`);
      if (flags.count !== undefined && received >= flags.count) break;
    }
    // Messages already went to stdout line by line; under --json print no second document.
    return json ? undefined : { received };
  }
}
