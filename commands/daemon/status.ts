import { readHome } from '../../kernel/home/index.ts';
import { readOwnerInfo, type OwnerInfo } from '../../kernel/ipc/index.ts';
import type { KernelStatus } from '../../kernel/service/index.ts';
import { AstridCommand } from '../_support/base.ts';
import { Exit } from '../_support/error-table.ts';
import { probeOwner } from '../_support/daemon.ts';

/** The result of `astrid daemon status`. */
export interface DaemonStatusResult {
  readonly running: boolean;
  readonly status: KernelStatus | null;
  /** Who holds the home when no daemon runs (a command, for its duration), if anyone. */
  readonly owner: OwnerInfo | null;
}

/** `astrid daemon status`: whether a daemon owns the home; exits 7 when none does. */
export default class DaemonStatus extends AstridCommand {
  static override summary = 'Show whether a daemon owns the home, with its log head and projections';
  static override description = 'Exits 0 when a daemon runs and 7 when none does. It never takes the home itself.';
  static override examples = ['<%= config.bin %> daemon status', '<%= config.bin %> daemon status --json'];

  async run(): Promise<DaemonStatusResult> {
    const { flags } = await this.parse(DaemonStatus);
    const home = this.homeOf(flags);
    await readHome(home);
    const status = await probeOwner(home);
    if (status?.role === 'daemon') {
      this.log(`Daemon running as pid ${status.pid} since ${status.startedAt}; log head ${status.head.seq}`);
      for (const p of status.projections) this.log(`  ${p.name} v${p.version} at seq ${p.checkpoint}${p.pinnedAt === null ? '' : ' (frozen)'}`);
      return { running: true, status, owner: null };
    }
    const owner = status === null ? await readOwnerInfo(home) : { pid: status.pid, role: status.role, startedAt: status.startedAt, socket: '' };
    process.exitCode = Exit.Kernel;
    this.log(owner === null ? 'No daemon is running' : `No daemon is running (a ${owner.role} pid ${owner.pid} holds the home)`);
    return { running: false, status: status, owner: owner as OwnerInfo | null };
  }
}
