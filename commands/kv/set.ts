import { Args } from '@oclif/core';
import { AstridCommand } from '../_support/base.ts';
import { kvSetEvent } from '../_support/events.ts';
import { parseJsonArg } from '../_support/json-input.ts';

/** The result of `astrid kv set`. */
export interface KvSetResult {
  readonly namespace: string;
  readonly key: string;
  readonly seq: number;
}

/** `astrid kv set`: records `kv.value.set`; readable as soon as it returns. */
export default class KvSet extends AstridCommand {
  static override summary = 'Set a JSON value in a namespace of the key-value store';
  static override examples = [`<%= config.bin %> kv set notes greeting '"hello"'`, `<%= config.bin %> kv set config limits '{"max":3}'`];
  static override args = {
    namespace: Args.string({ description: 'Namespace: lowercase letters, digits, "_" or "-"', required: true }),
    key: Args.string({ description: 'Key: printable text', required: true }),
    value: Args.string({ description: 'JSON value', required: true }),
  };

  async run(): Promise<KvSetResult> {
    const { args, flags } = await this.parse(KvSet);
    const value = parseJsonArg(args.value, 'the value');
    await using kernel = await this.openKernel(flags);
    const [event] = await kernel.append([kvSetEvent(args.namespace, args.key, value)]);
    const seq = event?.seq ?? 0;
    this.log(`Set ${args.namespace}/${args.key} at seq ${seq}`);
    return { namespace: args.namespace, key: args.key, seq };
  }
}
