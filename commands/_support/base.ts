import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { resolveHomePath, resolveLogLevel } from '../../kernel/config/index.ts';
import { ErrorCode, KernelError, isKernelError } from '../../kernel/errors/index.ts';
import { jsonLogger, type Logger } from '../../kernel/logger/index.ts';
import type { KernelApi } from '../../kernel/service/api.ts';
import { connectKernel } from '../../kernel/service/connect.ts';
import { outcomeOf } from './error-table.ts';

/** The source recorded on events a CLI user causes. */
export const CLI_SOURCE = 'user:cli';

/**
 * The base of every `astrid` command: `--home` and `--json` on all of them, one error
 * format (`Error [CODE]: message` plus a hint on stderr, exit code from one table), and
 * access to the home's kernel, local or through the daemon.
 */
export abstract class AstridCommand extends Command {
  static override enableJsonFlag = true;
  static override baseFlags = {
    home: Flags.string({
      description: 'Astrid home directory [default: $ASTRID_HOME or ~/.astrid]',
      helpGroup: 'GLOBAL',
    }),
  };

  /** The logger for this command: JSON lines on stderr, level from ASTRID_LOG (default warn). */
  protected logger(): Logger {
    return jsonLogger(resolveLogLevel('warn'), { component: 'cli' });
  }

  /** The home path from `--home`, `ASTRID_HOME` or the default. */
  protected homeOf(flags: { home?: string | undefined }): string {
    return resolveHomePath(flags.home);
  }

  /** The kernel of the home: through the owner's socket, or owned by this process until closed. */
  protected async openKernel(
    flags: { home?: string | undefined },
    options: { signal?: AbortSignal; yieldable?: boolean; remoteOnlyMs?: number } = {},
  ): Promise<KernelApi> {
    return connectKernel(this.homeOf(flags), {
      // Loaded only when this command becomes the owner of the home.
      parts: async () => (await import('./parts.ts')).kernelParts,
      logger: this.logger(),
      ...options,
      onWait: (holder) => {
        const who = holder === null ? 'another astrid process' : `${holder.role} pid ${holder.pid}`;
        process.stderr.write(`Waiting for ${who} to release the home…\n`);
      },
    });
  }

  /** Writes one line of machine output (NDJSON for streams under --json) to stdout. */
  protected line(text: string): void {
    process.stdout.write(`${text}\n`);
  }

  override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    const wire = toWire(error);
    const outcome = outcomeOf(wire.code);
    process.exitCode = outcome.exit;
    const json = this.jsonEnabled();
    if (json) this.logJson({ error: { ...wire, hint: outcome.hint } });
    process.stderr.write(`Error [${wire.code}]: ${wire.message}\nHint: ${outcome.hint}\n`);
  }
}

function toWire(error: unknown): { code: string; message: string; details?: unknown } {
  if (isKernelError(error)) return error.toJSON();
  if (error instanceof Errors.CLIError || (error instanceof Error && 'parse' in error)) {
    return new KernelError(ErrorCode.InvalidArgument, error.message.split('\n')[0] ?? 'Invalid arguments').toJSON();
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: ErrorCode.Internal, message };
}

/** The parsed flags of a command class. */
export type FlagsOf<T extends typeof Command> = Interfaces.InferredFlags<T['flags'] & T['baseFlags']>;
