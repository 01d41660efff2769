import { Args } from '@oclif/core';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';
import type { CapsuleInstallReceipt } from '../../kernel/service/index.ts';
import { AstridCommand, CLI_SOURCE } from '../_support/base.ts';

/** `astrid capsule install`: records a `.capsule` archive (or a packed directory) in the log. */
export default class CapsuleInstall extends AstridCommand {
  static override summary = 'Install a capsule from a .capsule file or an unpacked directory';
  static override description =
    'The archive is checked completely (safe entries, a valid Capsule.toml, the files it names) before anything is written, ' +
    'then recorded in the log as `capsule.installed` carrying the archive; its files appear under <home>/capsules/<id>/. ' +
    'Installing another version of an installed capsule replaces it.';
  static override examples = ['<%= config.bin %> capsule install ./hello-0.1.0.capsule', '<%= config.bin %> capsule install ./hello --json'];
  static override args = { path: Args.string({ description: 'A .capsule file or a capsule directory', required: true }) };

  async run(): Promise<CapsuleInstallReceipt> {
    const { args, flags } = await this.parse(CapsuleInstall);
    const path = resolve(args.path);
    const info = await stat(path).catch(() => null);
    if (info === null) throw new KernelError(ErrorCode.NotFound, `Cannot install "${args.path}" as it does not exist`, { details: { path } });
    let archive: Uint8Array;
    if (info.isDirectory()) {
      const { packCapsuleBuffer } = await import('../../kernel/capsule/archive/index.ts');
      archive = (await packCapsuleBuffer(path)).archive;
    } else {
      archive = await readFile(path);
    }
    await using kernel = await this.openKernel(flags);
    const receipt = await kernel.installCapsule(archive, { source: CLI_SOURCE });
    this.log(
      receipt.replaced === null
        ? `Installed ${receipt.capsuleId} ${receipt.version} at seq ${receipt.seq}`
        : `Upgraded ${receipt.capsuleId} ${receipt.replaced} → ${receipt.version} at seq ${receipt.seq}`,
    );
    return receipt;
  }
}
