import { Args, Flags } from '@oclif/core';
import { inspectCapability, type EffectiveCapability } from '../../kernel/caps/index.ts';
import { AstridCommand } from '../_support/base.ts';
import { expiryIso, readHandle } from './_support/input.ts';

/** The result of `astrid cap inspect`: the handle's claims, and whether the kernel checked them. */
export type CapInspectResult = EffectiveCapability & { readonly expiresAtIso: string; readonly verified: boolean };

/** `astrid cap inspect`: decodes a handle's claims; with --verify, has the kernel check them. */
export default class CapInspect extends AstridCommand {
  static override summary = 'Show what a capability handle claims; --verify has the kernel check it';
  static override description =
    'Decodes the handle without the kernel key: capsule, root, rights, expiry, its id and the ids of the chain it was ' +
    'attenuated from. It never prints a secret, and a decoded claim proves nothing on its own. With --verify the home\'s ' +
    'kernel checks the signature, expiry and revocation, and refuses a bad handle with HANDLE_INVALID (details.reason: ' +
    'signature, expired, revoked…). Pass "-" to read the handle from stdin.';
  static override examples = ['<%= config.bin %> cap inspect astr1_…', '<%= config.bin %> cap inspect astr1_… --verify --json'];
  static override args = { handle: Args.string({ description: 'The handle to decode, or "-" for stdin', required: true }) };
  static override flags = { verify: Flags.boolean({ description: 'Have the kernel verify the handle (signature, expiry, revocation)', default: false }) };

  async run(): Promise<CapInspectResult> {
    const { args, flags } = await this.parse(CapInspect);
    const handle = await readHandle(args.handle);
    let claims = inspectCapability(handle);
    if (flags.verify) {
      await using kernel = await this.openKernel(flags);
      claims = await kernel.capVerify(handle, claims.capsuleId);
    }
    const result = { ...claims, expiresAtIso: expiryIso(claims.expiresAt), verified: flags.verify };
    const session = result.session === undefined ? '' : `  session ${result.session}`;
    this.log(`${result.capsuleId}  ${result.root}  ${result.rights.join(',')}  until ${result.expiresAtIso}${session}  id ${result.id}`);
    if (flags.verify) this.log('verified: genuine, unexpired and not revoked');
    return result;
  }
}
