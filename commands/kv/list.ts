import { Args, Flags } from '@oclif/core';
import { kvEntryOf, kvStoreKey, type KvEntry } from '../../projections/kv.ts';
import { AstridCommand } from '../_support/base.ts';

/** The result of `astrid kv list`. */
export interface KvListResult {
  readonly namespace: string;
  readonly entries: readonly KvEntry[];
}

/** `astrid kv list`: the keys of a namespace, optionally by prefix. */
export default class KvList extends AstridCommand {
  static override summary = 'List the entries of a namespace, optionally by key prefix';
  static override examples = ['<%= config.bin %> kv list notes', '<%= config.bin %> kv list notes --prefix greet --json'];
  static override args = { namespace: Args.string({ description: 'Namespace', required: true }) };
  static override flags = {
    prefix: Flags.string({ description: 'Only keys starting with this', default: '' }),
    limit: Flags.integer({ description: 'At most this many entries', default: 1000, min: 1, max: 10_000 }),
  };

  async run(): Promise<KvListResult> {
    const { args, flags } = await this.parse(KvList);
    await using kernel = await this.openKernel(flags);
    const page = await kernel.projectionPage('kv', { prefix: kvStoreKey(args.namespace, flags.prefix), limit: flags.limit });
    const entries = page.entries.map(([k, stored]) => kvEntryOf(k, stored));
    for (const e of entries) this.log(`${e.key}\t${JSON.stringify(e.value)}`);
    return { namespace: args.namespace, entries };
  }
}
