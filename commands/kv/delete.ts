import { Args } from '@oclif/core';
import { AstridCommand } from '../_support/base.ts';
import { kvDeleteEvent } from '../_support/events.ts';

/** The result of `astrid kv delete`. */
export interface KvDeleteResult {
  readonly namespace: string;
  readonly key: string;
  readonly seq: number;
}

/** `astrid kv delete`: records `kv.value.deleted`. */
export default class KvDelete extends AstridCommand {
  static override summary = 'Delete a key from the key-value store';
  static override examples = ['<%= config.bin %> kv delete notes greeting'];
  static override args = {
    namespace: Args.string({ description: 'Namespace', required: true }),
    key: Args.string({ description: 'Key', required: true }),
  };

  async run(): Promise<KvDeleteResult> {
    const { args, flags } = await this.parse(KvDelete);
    await using kernel = await this.openKernel(flags);
    const [event] = await kernel.append([kvDeleteEvent(args.namespace, args.key)]);
    const seq = event?.seq ?? 0;
    this.log(`Deleted ${args.namespace}/${args.key} at seq ${seq}`);
    return { namespace: args.namespace, key: args.key, seq };
  }
}
