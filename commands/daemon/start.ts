import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';
import { homeLayout, readHome } from '../../kernel/home/index.ts';
import type { KernelStatus } from '../../kernel/service/index.ts';
import { AstridCommand } from '../_support/base.ts';
import { probeOwner } from '../_support/daemon.ts';

/** The result of `astrid daemon start`. */
export interface DaemonStartResult {
  readonly pid: number;
  readonly alreadyRunning: boolean;
  readonly log: string;
}

/** `astrid daemon start`: runs `astrid daemon` in the background and waits until it serves. */
export default class DaemonStart extends AstridCommand {
  static override summary = 'Start the kernel in the background';
  static override description = 'Returns once the daemon serves the home. Its own log goes to <home>/run/daemon.log. Starting it twice is harmless.';
  static override examples = ['<%= config.bin %> daemon start', '<%= config.bin %> daemon start --json'];

  async run(): Promise<DaemonStartResult> {
    const { flags } = await this.parse(DaemonStart);
    const home = this.homeOf(flags);
    await readHome(home);
    const logPath = join(homeLayout(home).run, 'daemon.log');
    const current = await probeOwner(home);
    if (current?.role === 'daemon') {
      this.log(`Daemon already running as pid ${current.pid}`);
      return { pid: current.pid, alreadyRunning: true, log: logPath };
    }
    const { mkdir } = await import('node:fs/promises');
    await mkdir(homeLayout(home).run, { recursive: true, mode: 0o700 });
    const out = await open(logPath, 'a', 0o600);
    const bin = join(this.config.root, 'commands', 'astrid.js');
    const child = spawn(process.execPath, [bin, 'daemon', '--home', home], { detached: true, stdio: ['ignore', out.fd, out.fd] });
    await out.close();
    let exited: number | null = null;
    child.once('exit', (code) => (exited = code ?? 1));
    child.unref();
    const status = await this.waitUntilServing(home, () => exited, logPath);
    this.log(`Daemon started as pid ${status.pid}`);
    return { pid: status.pid, alreadyRunning: false, log: logPath };
  }

  private async waitUntilServing(home: string, exited: () => number | null, logPath: string): Promise<KernelStatus> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const status = await probeOwner(home).catch(() => null);
      if (status?.role === 'daemon') return status;
      const code = exited();
      if (code !== null) {
        const tail = (await readFile(logPath, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
        throw new KernelError(ErrorCode.DaemonNotRunning, `Cannot start the daemon as it exited with code ${code}: ${tail}`, { details: { code } });
      }
      await sleep(25);
    }
    throw new KernelError(ErrorCode.Timeout, 'Cannot start the daemon as it did not serve the home within 30 s', { details: { log: logPath } });
  }
}
