import { Args } from '@oclif/core';
import { join } from 'node:path';
import { capsulesDir, installedCapsuleOf, type InstalledCapsuleEntry } from '../../kernel/capsule/installed/index.ts';
import { loadManifest, type CapsuleManifest } from '../../kernel/capsule/manifest/index.ts';
import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';
import { AstridCommand } from '../_support/base.ts';

/** The result of `astrid capsule info`. */
export interface CapsuleInfoResult {
  readonly installed: InstalledCapsuleEntry;
  readonly dir: string;
  readonly manifest: CapsuleManifest | null;
}

/** `astrid capsule info`: an installed capsule's record and manifest. */
export default class CapsuleInfo extends AstridCommand {
  static override summary = "Show an installed capsule's version, archive and manifest";
  static override examples = ['<%= config.bin %> capsule info hello', '<%= config.bin %> capsule info hello --json'];
  static override args = { id: Args.string({ description: 'Capsule id', required: true }) };

  async run(): Promise<CapsuleInfoResult> {
    const { args, flags } = await this.parse(CapsuleInfo);
    await using kernel = await this.openKernel(flags);
    const stored = await kernel.projectionGet('capsules', args.id);
    if (stored === null) throw new KernelError(ErrorCode.CapsuleNotFound, `Cannot find capsule "${args.id}" as it is not installed`, { details: { capsuleId: args.id } });
    const installed = installedCapsuleOf(args.id, stored);
    const dir = join(capsulesDir(this.homeOf(flags)), args.id);
    const manifest = await loadManifest(dir).catch(() => null);
    this.log(`${installed.capsuleId} ${installed.version} (seq ${installed.seq}, archive sha256:${installed.archive})`);
    if (manifest !== null) {
      if (manifest.package.description !== undefined) this.log(manifest.package.description);
      this.log(`files: ${dir}`);
    }
    return { installed, dir, manifest };
  }
}
