import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';
import { homeLayout, readHome } from '../../kernel/home/index.ts';
import { connectSocket } from '../../kernel/ipc/index.ts';
import { RemoteKernel } from '../../kernel/service/remote-kernel.ts';
import { AstridCommand } from '../_support/base.ts';
import { probeOwner, waitForExit } from '../_support/daemon.ts';

/** The result of `astrid daemon stop`. */
export interface DaemonStopResult {
  readonly stopped: boolean;
  readonly pid: number | null;
}

/** `astrid daemon stop`: asks the daemon to stop and waits until it has exited. */
export default class DaemonStop extends AstridCommand {
  static override summary = 'Stop the background kernel and wait for it to exit';
  static override description = 'In-flight requests finish first. Stopping when no daemon runs is harmless.';
  static override examples = ['<%= config.bin %> daemon stop'];

  async run(): Promise<DaemonStopResult> {
    const { flags } = await this.parse(DaemonStop);
    const home = this.homeOf(flags);
    await readHome(home);
    const status = await probeOwner(home);
    if (status === null || status.role !== 'daemon') {
      this.log('No daemon is running');
      return { stopped: false, pid: null };
    }
    const client = await connectSocket(homeLayout(home).socket);
    if (client !== null) {
      await using kernel = new RemoteKernel(client);
      await kernel.shutdown();
    }
    if (!(await waitForExit(status.pid, 30_000))) {
      throw new KernelError(ErrorCode.Timeout, `Cannot confirm the daemon stopped as pid ${status.pid} still runs after 30 s`, { details: { pid: status.pid } });
    }
    this.log(`Daemon pid ${status.pid} stopped`);
    return { stopped: true, pid: status.pid };
  }
}
