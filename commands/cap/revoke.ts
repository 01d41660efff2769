import { Args } from '@oclif/core';
import { AstridCommand, CLI_SOURCE } from '../_support/base.ts';
import { readHandle } from './_support/input.ts';

/** The result of `astrid cap revoke`. */
export interface CapRevokeResult {
  /** The revoked handle's own id (its last block's). */
  readonly id: string;
  readonly seq: number;
}

/** `astrid cap revoke`: records `capability.revoked` for a genuine handle. */
export default class CapRevoke extends AstridCommand {
  static override summary = 'Revoke a capability handle and every handle derived from it';
  static override description =
    'Checks the handle\'s signature with the kernel key (a forged or malformed one is refused with HANDLE_INVALID), then ' +
    'records `capability.revoked` for its id. From then on the kernel refuses it and every handle attenuated from it; the ' +
    'handle it was attenuated from stays valid. Pass "-" to read the handle from stdin.';
  static override examples = ['<%= config.bin %> cap revoke astr1_…', '<%= config.bin %> cap revoke - --json < handle.txt'];
  static override args = { handle: Args.string({ description: 'The handle to revoke, or "-" for stdin', required: true }) };

  async run(): Promise<CapRevokeResult> {
    const { args, flags } = await this.parse(CapRevoke);
    const handle = await readHandle(args.handle);
    await using kernel = await this.openKernel(flags);
    const revoked = await kernel.capRevoke(handle, { source: CLI_SOURCE });
    this.log(`Revoked ${revoked.id} at seq ${revoked.seq}`);
    return revoked;
  }
}
