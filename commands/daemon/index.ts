import { bootOwner } from '../../kernel/boot.ts';
import { readHome } from '../../kernel/home/index.ts';
import { waitForOwnerLock } from '../../kernel/ipc/index.ts';
import { AstridCommand } from '../_support/base.ts';
import { alreadyRunning, probeOwner, requestHandover } from '../_support/daemon.ts';
import { kernelParts } from '../_support/parts.ts';
import { interruptSignal } from '../_support/resilient.ts';

/** The result of `astrid daemon` once it stops. */
export interface DaemonRunResult {
  readonly pid: number;
  readonly stoppedBy: 'signal' | 'request';
}

/** `astrid daemon`: the kernel in the foreground, owning the home until Ctrl-C or `daemon stop`. */
export default class Daemon extends AstridCommand {
  static override summary = 'Run the kernel in the foreground: it owns the home and serves every other astrid command';
  static override description =
    'Holds the home’s owner lock, opens its event log and serves other processes on <home>/run/kernel.sock (mode 0600). ' +
    'Stops on Ctrl-C, SIGTERM or `astrid daemon stop`. Use `astrid daemon start` to run it in the background.';
  static override examples = ['<%= config.bin %> daemon', '<%= config.bin %> daemon --home ./scratch-home'];

  async run(): Promise<DaemonRunResult> {
    const { flags } = await this.parse(Daemon);
    const home = this.homeOf(flags);
    await readHome(home);
    const signal = interruptSignal();
    const current = await probeOwner(home);
    if (current?.role === 'daemon') throw alreadyRunning(current);
    if (current !== null) await requestHandover(home);
    const lock = await waitForOwnerLock(home, {
      role: 'daemon',
      signal,
      onWait: (holder) => process.stderr.write(`Waiting for ${holder === null ? 'another process' : `${holder.role} pid ${holder.pid}`} to release the home…\n`),
    });
    await using owner = await bootOwner({ home, role: 'daemon', lock, ...kernelParts, logger: this.logger() });
    process.stderr.write(`Astrid kernel running as pid ${process.pid} for ${home}\n`);
    const stoppedBy = await Promise.race([
      owner.stopRequested.then(() => 'request' as const),
      new Promise<'signal'>((resolve) => signal.addEventListener('abort', () => resolve('signal'), { once: true })),
    ]);
    process.stderr.write(`Astrid kernel stopping (${stoppedBy})\n`);
    return { pid: process.pid, stoppedBy };
  }
}
