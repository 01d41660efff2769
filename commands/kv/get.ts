import { Args } from '@oclif/core';
import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';
import { kvEntryOf, kvStoreKey, type KvEntry } from '../../projections/kv.ts';
import { AstridCommand } from '../_support/base.ts';

/** The result of `astrid kv get`. */
export type KvGetResult = KvEntry;

/** `astrid kv get`: prints a value as JSON; exits 4 with NOT_FOUND when absent. */
export default class KvGet extends AstridCommand {
  static override summary = 'Print a value of the key-value store as JSON';
  static override examples = ['<%= config.bin %> kv get notes greeting'];
  static override args = {
    namespace: Args.string({ description: 'Namespace', required: true }),
    key: Args.string({ description: 'Key', required: true }),
  };

  async run(): Promise<KvGetResult> {
    const { args, flags } = await this.parse(KvGet);
    await using kernel = await this.openKernel(flags);
    const storeKey = kvStoreKey(args.namespace, args.key);
    const stored = await kernel.projectionGet('kv', storeKey);
    if (stored === null) {
      throw new KernelError(ErrorCode.NotFound, `Cannot find key "${args.key}" in namespace "${args.namespace}"`, {
        details: { namespace: args.namespace, key: args.key },
      });
    }
    const entry = kvEntryOf(storeKey, stored);
    this.log(JSON.stringify(entry.value));
    return entry;
  }
}
