import { ErrorCode } from '../../kernel/errors/index.ts';
import type { VerifyReport } from '../../kernel/log/index.ts';
import { AstridCommand } from '../_support/base.ts';
import { outcomeOf } from '../_support/error-table.ts';

/** `astrid log verify`: walks the hash chain; exits 6 naming the first bad seq on damage. */
export default class LogVerify extends AstridCommand {
  static override summary = 'Walk the hash chain and report the first damaged event';
  static override description = 'Recomputes every hash from seq 1. Exits non-zero (6) and names the first bad seq when an event was altered, removed or reordered.';
  static override examples = ['<%= config.bin %> log verify', '<%= config.bin %> log verify --json'];

  async run(): Promise<VerifyReport> {
    const { flags } = await this.parse(LogVerify);
    await using kernel = await this.openKernel(flags);
    const report = await kernel.verify();
    if (report.ok) {
      this.log(`Log verified: ${report.checked} events, chain intact`);
    } else if (report.firstBad !== null) {
      const outcome = outcomeOf(ErrorCode.LogCorrupt);
      process.exitCode = outcome.exit;
      process.stderr.write(`Error [${ErrorCode.LogCorrupt}]: Log damaged at seq ${report.firstBad.seq}: ${report.firstBad.reason}\nHint: ${outcome.hint}\n`);
    }
    return report;
  }
}
