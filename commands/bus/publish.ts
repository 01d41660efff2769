import { Args, Flags } from '@oclif/core';
import { DEFAULT_QUOTA_POLICY, checkMessage } from '../../kernel/bus/index.ts';
import { ErrorCode, KernelError, isKernelError } from '../../kernel/errors/index.ts';
import type { OutgoingMessage, PublishReceipt } from '../../kernel/service/index.ts';
import { AstridCommand, CLI_SOURCE } from '../_support/base.ts';
import { parseJsonArg } from '../_support/json-input.ts';
import { readStdinLines } from '../_support/stdin.ts';

/** The result of `astrid bus publish`. */
export interface PublishResult {
  readonly published: number;
  readonly first: PublishReceipt | null;
  readonly last: PublishReceipt | null;
}

/** Messages per publish: one unit each, never more than a quota burst holds. */
const CHUNK = Math.min(1000, DEFAULT_QUOTA_POLICY.messagesBurst);
/** Rate refusals of one chunk waited out before giving up. */
const MAX_WAITS = 200;

/** `astrid bus publish`: durable publish of one payload, or one per stdin line. */
export default class BusPublish extends AstridCommand {
  static override summary = 'Publish JSON payloads on a subject, durably';
  static override description =
    'Each message is appended to the event log before anyone can receive it; the command returns once it is on disk. ' +
    'With --stdin every non-empty line is one JSON payload; the whole input is checked before anything is published, ' +
    'then it is published in units of 1,000 lines, in order, slowed to the publisher rate quota rather than refused by it. ' +
    'If a unit is refused all the same, the error says how many lines before it were published.';
  static override examples = [
    `<%= config.bin %> bus publish agent.v1.response '{"type":"agent_response","text":"hi","is_final":true}'`,
    `seq 1 5000 | sed 's/.*/{"n":&}/' | <%= config.bin %> bus publish load.test --stdin`,
  ];
  static override args = {
    subject: Args.string({ description: 'Subject: dot-separated tokens, no wildcards', required: true }),
    payload: Args.string({ description: 'JSON payload (omit with --stdin)', ignoreStdin: true }),
  };
  static override flags = {
    stdin: Flags.boolean({ description: 'Read one JSON payload per line from standard input' }),
  };

  async run(): Promise<PublishResult> {
    const { args, flags } = await this.parse(BusPublish);
    const payloads: unknown[] = [];
    if (flags.stdin) {
      if (args.payload !== undefined) throw new KernelError(ErrorCode.InvalidArgument, 'Cannot take a payload argument together with --stdin');
      let n = 0;
      for await (const line of readStdinLines()) {
        n++;
        if (line.trim() === '') continue;
        payloads.push(parseJsonArg(line, `line ${n} of standard input`));
      }
    } else {
      if (args.payload === undefined) throw new KernelError(ErrorCode.InvalidArgument, 'Cannot publish without a payload: give one or use --stdin');
      payloads.push(parseJsonArg(args.payload, 'the payload'));
    }
    checkAll(args.subject, payloads, flags.stdin === true);
    await using kernel = await this.openKernel(flags);
    let first: PublishReceipt | null = null;
    let last: PublishReceipt | null = null;
    for (let i = 0; i < payloads.length; i += CHUNK) {
      const messages: OutgoingMessage[] = payloads.slice(i, i + CHUNK).map((payload) => ({ subject: args.subject, payload }));
      let receipts: PublishReceipt[];
      try {
        receipts = await publishPaced(() => kernel.publish(messages, { source: CLI_SOURCE }));
      } catch (error) {
        throw i === 0 || first === null || last === null ? error : partly(error, i, payloads.length, first.seq, last.seq);
      }
      first ??= receipts[0] ?? null;
      last = receipts.at(-1) ?? last;
    }
    if (payloads.length === 1 && first !== null) this.log(`Published seq ${first.seq} on ${first.subject} (${first.kind})`);
    else if (first !== null && last !== null) this.log(`Published ${payloads.length} messages on ${args.subject} (seq ${first.seq}–${last.seq})`);
    else this.log('Nothing to publish');
    return { published: payloads.length, first, last };
  }
}

/**
 * Checks every message before any is sent, as the kernel will (subject, standard payload
 * schemas, the default payload size), so a bad line never leaves the lines before it
 * published. Errors name the line. @throws KernelError SUBJECT_INVALID, PAYLOAD_INVALID, PAYLOAD_TOO_LARGE
 */
function checkAll(subject: string, payloads: readonly unknown[], fromStdin: boolean): void {
  const limit = DEFAULT_QUOTA_POLICY.maxPayloadBytes;
  payloads.forEach((payload, i) => {
    const where = fromStdin ? `payload ${i + 1} of standard input` : 'the payload';
    try {
      const { bytes } = checkMessage(subject, payload);
      if (bytes > limit) {
        throw new KernelError(ErrorCode.PayloadTooLarge, `Cannot publish ${where} as it is ${bytes} bytes: the limit is ${limit}`, { details: { limit, bytes } });
      }
    } catch (error) {
      if (!isKernelError(error) || error.code === ErrorCode.PayloadTooLarge || error.code === ErrorCode.SubjectInvalid) throw error;
      throw new KernelError(error.code, `${error.message} (${where})`, error.details === undefined ? {} : { details: error.details });
    }
  });
}

/** How long a quota refusal says to wait before the same publish can pass, or null when it never will. */
function retryAfter(error: unknown): number | null {
  if (!isKernelError(error) || (error.code !== ErrorCode.QuotaRateExceeded && error.code !== ErrorCode.QuotaBytesExceeded)) return null;
  const wait = error.details?.['retryAfterMs'];
  return typeof wait === 'number' && Number.isFinite(wait) && wait >= 0 ? wait : null;
}

/**
 * Runs a publish, waiting out rate refusals: a refused publish appended nothing, so running
 * it again cannot publish anything twice. Gives up after {@link MAX_WAITS} refusals in a row.
 */
async function publishPaced(publish: () => Promise<PublishReceipt[]>): Promise<PublishReceipt[]> {
  for (let waits = 0; ; waits++) {
    try {
      return await publish();
    } catch (error) {
      const wait = retryAfter(error);
      if (wait === null || waits >= MAX_WAITS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, wait)));
    }
  }
}

/** The error of a refused unit, saying which lines were published before it (units are all or nothing). */
function partly(error: unknown, published: number, total: number, firstSeq: number, lastSeq: number): unknown {
  if (!isKernelError(error)) return error;
  return new KernelError(error.code, `${error.message} (after publishing lines 1–${published} of ${total}, seq ${firstSeq}–${lastSeq}; nothing after them)`, {
    cause: error,
    details: { ...(error.details ?? {}), published, firstSeq, lastSeq },
  });
}
