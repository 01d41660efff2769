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

const CHUNK = 1000;

/** `astrid bus publish`: durable publish of one payload, or one per stdin line. */
export default class BusPublish extends AstridCommand {
  static override summary = 'Publish JSON payloads on a subject, durably';
  static override description =
    'Each message is appended to the event log before anyone can receive it; the command returns once it is on disk. ' +
    'With --stdin every non-empty line is one JSON payload; the whole input is checked before anything is published.';
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
      const receipts = await kernel.publish(messages, { source: CLI_SOURCE });
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
