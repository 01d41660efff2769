import { Args } from '@oclif/core';
import { AstridCommand, CLI_SOURCE } from '../_support/base.ts';

/** `astrid capsule remove`: records `capsule.removed`; its files disappear from the home. */
export default class CapsuleRemove extends AstridCommand {
  static override summary = 'Remove an installed capsule';
  static override examples = ['<%= config.bin %> capsule remove hello'];
  static override args = { id: Args.string({ description: 'Capsule id', required: true }) };

  async run(): Promise<{ capsuleId: string; seq: number }> {
    const { args, flags } = await this.parse(CapsuleRemove);
    await using kernel = await this.openKernel(flags);
    const result = await kernel.removeCapsule(args.id, { source: CLI_SOURCE });
    this.log(`Removed ${result.capsuleId} at seq ${result.seq}`);
    return result;
  }
}
