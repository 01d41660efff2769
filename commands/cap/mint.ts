import { Flags } from '@oclif/core';
import type { MintedCapability } from '../../kernel/service/index.ts';
import { AstridCommand } from '../_support/base.ts';
import { parseTtl } from '../_support/ttl.ts';
import { expiryIso, parseRights } from './_support/input.ts';

/** The result of `astrid cap mint`: the handle and what it grants. */
export type CapMintResult = MintedCapability & { readonly expiresAtIso: string };

/** `astrid cap mint`: mints a capability handle signed with the home's kernel key. */
export default class CapMint extends AstridCommand {
  static override summary = 'Mint a capability handle for a capsule: a root, rights and a lifetime';
  static override description =
    'Signs a handle with the home\'s kernel key granting the capsule the rights on the virtual root and everything below ' +
    'it, until the TTL runs out. With --session the handle is bound to that VFS session, whose overlay the capsule sees at ' +
    '"/". Records nothing in the log; anyone holding the handle can narrow it offline with `astrid cap attenuate`, and ' +
    '`astrid cap revoke` withdraws it and every handle derived from it. Prints the handle; --json adds its claims.';
  static override examples = [
    '<%= config.bin %> cap mint --capsule fs --root /src --rights read,list --ttl 10m',
    '<%= config.bin %> cap mint --capsule fs --root / --rights read,write,create --ttl 1h --session S1 --json',
  ];
  static override flags = {
    capsule: Flags.string({ description: 'The capsule id the handle is issued to', required: true }),
    root: Flags.string({ description: 'Virtual root the handle covers, e.g. /src', required: true }),
    rights: Flags.string({ description: 'Comma-separated rights: read, write, list, create, delete', required: true }),
    ttl: Flags.string({ description: 'Lifetime: a number and a unit (ms, s, m, h, d)', default: '1h' }),
    session: Flags.string({ description: 'Bind the handle to this VFS session' }),
  };

  async run(): Promise<CapMintResult> {
    const { flags } = await this.parse(CapMint);
    const rights = parseRights(flags.rights);
    const ttl = parseTtl(flags.ttl);
    await using kernel = await this.openKernel(flags);
    const minted = await kernel.capMint({
      capsuleId: flags.capsule,
      root: flags.root,
      rights,
      expiresAt: Date.now() + ttl,
      ...(flags.session === undefined ? {} : { session: flags.session }),
    });
    this.log(minted.handle);
    return { ...minted, expiresAtIso: expiryIso(minted.expiresAt) };
  }
}
