import { Args, Flags } from '@oclif/core';
import { attenuateCapability, inspectCapability, type EffectiveCapability } from '../../kernel/caps/index.ts';
import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';
import { AstridCommand } from '../_support/base.ts';
import { parseTtl } from '../_support/ttl.ts';
import { expiryIso, parseRights, readHandle } from './_support/input.ts';

/** The result of `astrid cap attenuate`: the narrower handle and the claims it makes. */
export type CapAttenuateResult = EffectiveCapability & { readonly handle: string; readonly expiresAtIso: string };

/** `astrid cap attenuate`: derives a narrower handle offline, without the kernel key. */
export default class CapAttenuate extends AstridCommand {
  static override summary = 'Derive a narrower capability handle (offline; never widens)';
  static override description =
    'Appends a caveat to the handle: a root inside its root, a subset of its rights, an earlier expiry. Needs neither the ' +
    'home nor the kernel key, so a capsule or user can hand on less than it holds. Asking for more (a root outside, a right ' +
    'it lacks, a later expiry) is refused with CAPABILITY_DENIED. Only the kernel can tell whether the result is genuine: ' +
    'check it with `astrid cap inspect --verify`. Pass "-" to read the handle from stdin.';
  static override examples = [
    '<%= config.bin %> cap attenuate astr1_… --root /src/lib --rights read',
    '<%= config.bin %> cap attenuate - --ttl 5m --json < handle.txt',
  ];
  static override args = { handle: Args.string({ description: 'The handle to narrow, or "-" for stdin', required: true }) };
  static override flags = {
    root: Flags.string({ description: 'A root inside the handle\'s root' }),
    rights: Flags.string({ description: 'Comma-separated subset of the handle\'s rights' }),
    ttl: Flags.string({ description: 'Expire this long from now (not after the handle does)' }),
  };

  async run(): Promise<CapAttenuateResult> {
    const { args, flags } = await this.parse(CapAttenuate);
    if (flags.root === undefined && flags.rights === undefined && flags.ttl === undefined) {
      throw new KernelError(ErrorCode.InvalidArgument, 'Cannot attenuate a handle without a caveat: pass --root, --rights or --ttl');
    }
    const rights = flags.rights === undefined ? undefined : parseRights(flags.rights);
    const ttl = flags.ttl === undefined ? undefined : parseTtl(flags.ttl);
    const handle = attenuateCapability(await readHandle(args.handle), {
      ...(flags.root === undefined ? {} : { root: flags.root }),
      ...(rights === undefined ? {} : { rights }),
      ...(ttl === undefined ? {} : { expiresAt: Date.now() + ttl }),
    });
    const claims = inspectCapability(handle);
    this.log(handle);
    return { handle, ...claims, expiresAtIso: expiryIso(claims.expiresAt) };
  }
}
