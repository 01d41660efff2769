import { installedCapsuleOf, type InstalledCapsuleEntry } from '../../kernel/capsule/installed/index.ts';
import { AstridCommand } from '../_support/base.ts';

/** `astrid capsule list`: installed capsules with version and archive digest. */
export default class CapsuleList extends AstridCommand {
  static override summary = 'List installed capsules';
  static override examples = ['<%= config.bin %> capsule list', '<%= config.bin %> capsule list --json'];

  async run(): Promise<{ capsules: InstalledCapsuleEntry[] }> {
    const { flags } = await this.parse(CapsuleList);
    await using kernel = await this.openKernel(flags);
    const page = await kernel.projectionPage('capsules', { limit: 10_000 });
    const capsules = page.entries.map(([id, stored]) => installedCapsuleOf(id, stored));
    if (capsules.length === 0) this.log('No capsules installed');
    for (const c of capsules) this.log(`${c.capsuleId}\t${c.version}\tsha256:${c.archive.slice(0, 12)}…\t${c.size} B`);
    return { capsules };
  }
}
