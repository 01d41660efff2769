import { Args, Flags } from '@oclif/core';
import { AstridCommand } from '../_support/base.ts';

/** The result of `astrid capsule call`. */
export interface CapsuleCallResult {
  readonly capsuleId: string;
  readonly fn: string;
  readonly output: string;
  /** The output parsed as JSON, when it is JSON. */
  readonly json?: unknown;
}

/** `astrid capsule call`: calls an exported function of an installed capsule. */
export default class CapsuleCall extends AstridCommand {
  static override summary = 'Call an exported function of an installed capsule';
  static override description =
    'Runs in the kernel that owns the home, in a worker with the capsule’s time and memory limits; its KV writes and publications ' +
    'are recorded in the log as one unit when the call returns, and dropped if it traps or times out.';
  static override examples = [`<%= config.bin %> capsule call hello greet --input '{"name":"zoë"}'`];
  static override args = {
    id: Args.string({ description: 'Capsule id', required: true }),
    fn: Args.string({ description: 'Exported function', required: true }),
  };
  static override flags = {
    input: Flags.string({ description: 'Input text (UTF-8), usually JSON', default: '' }),
    component: Flags.string({ description: 'Component id, when the capsule has several' }),
  };

  async run(): Promise<CapsuleCallResult> {
    const { args, flags } = await this.parse(CapsuleCall);
    await using kernel = await this.openKernel(flags);
    const { output } = await kernel.callCapsule(args.id, args.fn, flags.input, flags.component === undefined ? {} : { component: flags.component });
    this.log(output);
    let json: unknown;
    try {
      json = JSON.parse(output) as unknown;
    } catch {
      return { capsuleId: args.id, fn: args.fn, output };
    }
    return { capsuleId: args.id, fn: args.fn, output, json };
  }
}
