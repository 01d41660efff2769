import * as v from 'valibot';
import { ErrorCode, KernelError } from '../errors/index.ts';

/*
 * Standard bus payloads, with the original Astrid's `IpcPayload` tags and snake_case fields
 * (research/original-astrid.md §2.3), so capsules written for it keep working. The design's
 * names map onto them like this:
 *
 *   user input          → `user_input`
 *   agent response      → `agent_response` (`is_final: false` for stream deltas)
 *   approval required   → `approval_required`
 *   approval decided    → `approval_response`
 *   tool call / result  → `tool_execute_request` / `tool_execute_result`
 *   (tool cancel)       → `tool_cancel_request`
 *   llm request         → `llm_request`
 *   llm token           → `llm_stream_event` whose `event` is `{ "TextDelta": "…" }`
 *   llm done            → `llm_stream_event` whose `event` is `"Done"`; `llm_response` is the
 *                         original's whole non-streaming answer and is kept as well
 *
 * Every other payload is `custom`: unknown or missing `type`, not an object, or one of the
 * original's tags we do not model (`raw_json`, `onboarding_required`, `selection_required`,
 * `elicit_request`, `elicit_response`, `connect`, `disconnect`, `custom`). Unlike the original,
 * which silently demoted a known tag that failed to decode to `custom`, a payload that claims
 * a standard type must be valid: a subscriber can trust what `kind` says. Objects are loose:
 * unknown fields are kept, so newer publishers can add fields without breaking older readers.
 */

const Text = v.string();
const NonEmpty = v.pipe(v.string(), v.minLength(1, 'Expected a non-empty string'), v.maxLength(256));
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
/**
 * A correlation id. Replies travel on subjects ending with it
 * (`astrid.v1.approval.response.<request_id>`), so it must be one valid subject token.
 */
const RequestId = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_:-]{1,128}$/, 'Expected 1 to 128 letters, digits, "_", "-" or ":" (it ends a reply subject)'),
);
const SessionId = v.optional(v.string(), 'default');

/** A tool call requested by a model: `{ id, name, arguments }`. */
export const ToolCallSchema = v.looseObject({ id: NonEmpty, name: NonEmpty, arguments: v.unknown() });
/** The outcome of one tool call: `{ call_id, content, is_error }`. */
export const ToolCallResultSchema = v.looseObject({ call_id: NonEmpty, content: Text, is_error: v.boolean() });
/** One part of a multimodal message: text, or a base64 image. */
export const ContentPartSchema = v.variant('type', [
  v.looseObject({ type: v.literal('text'), text: Text }),
  v.looseObject({ type: v.literal('image'), data: Text, media_type: NonEmpty }),
]);
/**
 * A chat message. `content` is untagged, as in the original: plain text, a list of tool calls,
 * one tool result, or a list of content parts.
 */
export const LlmMessageSchema = v.looseObject({
  role: v.picklist(['system', 'user', 'assistant', 'tool']),
  content: v.union(
    [Text, v.array(ToolCallSchema), ToolCallResultSchema, v.array(ContentPartSchema)],
    'Expected a string, a list of tool calls, one tool result, or a list of text and image parts',
  ),
});
/** A tool offered to a model; `input_schema` is a JSON Schema and defaults to `{ "type": "object" }`. */
export const LlmToolDefinitionSchema = v.looseObject({
  name: NonEmpty,
  description: v.optional(v.string()),
  input_schema: v.optional(v.unknown(), () => ({ type: 'object' })),
});
const Usage = v.looseObject({ input_tokens: Count, output_tokens: Count });
/**
 * One streamed model event, externally tagged as in the original: `"Done"`, or an object with
 * exactly one of `TextDelta`, `ToolCallStart`, `ToolCallDelta`, `ToolCallEnd`, `ReasoningDelta`,
 * `Usage`, `Error`.
 */
export const LlmStreamEventSchema = v.union([
  v.literal('Done'),
  v.strictObject({ TextDelta: Text }),
  v.strictObject({ ToolCallStart: v.looseObject({ id: NonEmpty, name: NonEmpty }) }),
  v.strictObject({ ToolCallDelta: v.looseObject({ id: NonEmpty, args_delta: Text }) }),
  v.strictObject({ ToolCallEnd: v.looseObject({ id: NonEmpty }) }),
  v.strictObject({ ReasoningDelta: Text }),
  v.strictObject({ Usage }),
  v.strictObject({ Error: Text }),
], 'Expected "Done" or an object with exactly one of "TextDelta", "ToolCallStart", "ToolCallDelta", "ToolCallEnd", "ReasoningDelta", "Usage", "Error"');

/** `user_input`: a prompt from a person; `context` is free JSON (`{ "action": "cancel_turn" }` cancels). */
export const UserInputSchema = v.looseObject({
  type: v.literal('user_input'),
  text: Text,
  session_id: SessionId,
  context: v.optional(v.unknown()),
});
/** `agent_response`: text for the user; `is_final: false` marks a streamed delta. */
export const AgentResponseSchema = v.looseObject({
  type: v.literal('agent_response'),
  text: Text,
  is_final: v.boolean(),
  session_id: SessionId,
});
/** `approval_required`: a capsule asks a human to allow an action on a resource. */
export const ApprovalRequiredSchema = v.looseObject({
  type: v.literal('approval_required'),
  request_id: RequestId,
  action: v.pipe(v.string(), v.maxLength(256)),
  resource: v.pipe(v.string(), v.maxLength(1024)),
  reason: Text,
  risk_level: v.picklist(['low', 'medium', 'high', 'critical']),
});
/** `approval_response`: the human's decision on an `approval_required` request. */
export const ApprovalResponseSchema = v.looseObject({
  type: v.literal('approval_response'),
  request_id: RequestId,
  decision: v.picklist(['approve', 'approve_session', 'approve_always', 'deny']),
  reason: v.optional(v.string()),
});
/** `tool_execute_request`: call one tool. `tool_name` follows the tool router's rule (no dots). */
export const ToolExecuteRequestSchema = v.looseObject({
  type: v.literal('tool_execute_request'),
  call_id: NonEmpty,
  tool_name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_:-]{1,128}$/, 'Expected a tool name of letters, digits, "_", "-" or ":"')),
  arguments: v.optional(v.unknown(), () => ({})),
});
/** `tool_execute_result`: the one result of a tool call; errors are results with `is_error`. */
export const ToolExecuteResultSchema = v.looseObject({
  type: v.literal('tool_execute_result'),
  call_id: NonEmpty,
  result: ToolCallResultSchema,
});
/** `tool_cancel_request`: best-effort cancellation of pending tool calls. */
export const ToolCancelRequestSchema = v.looseObject({
  type: v.literal('tool_cancel_request'),
  call_ids: v.array(NonEmpty),
});
/** `llm_request`: ask a provider capsule to generate. */
export const LlmRequestSchema = v.looseObject({
  type: v.literal('llm_request'),
  request_id: RequestId,
  model: v.string(),
  messages: v.array(LlmMessageSchema),
  tools: v.optional(v.array(LlmToolDefinitionSchema), () => []),
  system: v.optional(v.string(), ''),
});
/** `llm_stream_event`: one streamed event of a generation (tokens, tool calls, usage, done). */
export const LlmStreamEventPayloadSchema = v.looseObject({
  type: v.literal('llm_stream_event'),
  request_id: RequestId,
  event: LlmStreamEventSchema,
});
/** `llm_response`: a whole, non-streamed generation. */
export const LlmResponseSchema = v.looseObject({
  type: v.literal('llm_response'),
  request_id: RequestId,
  response: v.looseObject({
    message: LlmMessageSchema,
    has_tool_calls: v.boolean(),
    stop_reason: v.picklist(['EndTurn', 'MaxTokens', 'ToolUse', 'StopSequence']),
    usage: Usage,
  }),
});

const standardSchemas = [
  UserInputSchema,
  AgentResponseSchema,
  ApprovalRequiredSchema,
  ApprovalResponseSchema,
  ToolExecuteRequestSchema,
  ToolExecuteResultSchema,
  ToolCancelRequestSchema,
  LlmRequestSchema,
  LlmStreamEventPayloadSchema,
  LlmResponseSchema,
] as const;

/** Any standard payload, discriminated on `type`. */
export const StandardPayloadSchema = v.variant('type', standardSchemas);

/** A standard payload (output of {@link StandardPayloadSchema}: defaults applied). */
export type StandardPayload = v.InferOutput<typeof StandardPayloadSchema>;
/** The `type` of a standard payload. */
export type StandardPayloadType = StandardPayload['type'];
/** `user_input` payload. */
export type UserInput = v.InferOutput<typeof UserInputSchema>;
/** `agent_response` payload. */
export type AgentResponse = v.InferOutput<typeof AgentResponseSchema>;
/** `approval_required` payload. */
export type ApprovalRequired = v.InferOutput<typeof ApprovalRequiredSchema>;
/** `approval_response` payload. */
export type ApprovalResponse = v.InferOutput<typeof ApprovalResponseSchema>;
/** `tool_execute_request` payload. */
export type ToolExecuteRequest = v.InferOutput<typeof ToolExecuteRequestSchema>;
/** `tool_execute_result` payload. */
export type ToolExecuteResult = v.InferOutput<typeof ToolExecuteResultSchema>;
/** `tool_cancel_request` payload. */
export type ToolCancelRequest = v.InferOutput<typeof ToolCancelRequestSchema>;
/** `llm_request` payload. */
export type LlmRequest = v.InferOutput<typeof LlmRequestSchema>;
/** `llm_stream_event` payload. */
export type LlmStreamEventPayload = v.InferOutput<typeof LlmStreamEventPayloadSchema>;
/** `llm_response` payload. */
export type LlmResponse = v.InferOutput<typeof LlmResponseSchema>;
/** A chat message inside `llm_request` and `llm_response`. */
export type LlmMessage = v.InferOutput<typeof LlmMessageSchema>;
/** One streamed model event (the `event` of `llm_stream_event`). */
export type LlmStreamEvent = v.InferOutput<typeof LlmStreamEventSchema>;

/** The kind given to every payload that is not a standard one. */
export const CUSTOM_KIND = 'custom';

const byType: ReadonlyMap<string, v.GenericSchema> = new Map(standardSchemas.map((s) => [s.entries.type.literal, s]));

/** Every standard payload type, in a stable order. */
export const STANDARD_PAYLOAD_TYPES: readonly StandardPayloadType[] = standardSchemas.map((s) => s.entries.type.literal);

/** Whether `type` names a standard payload. */
export function isStandardPayloadType(type: unknown): type is StandardPayloadType {
  return typeof type === 'string' && byType.has(type);
}

/** A classified payload: a standard one with its parsed value, or `custom` with the input as is. */
export type ClassifiedPayload =
  | { [K in StandardPayloadType]: { readonly kind: K; readonly payload: Extract<StandardPayload, { type: K }> } }[StandardPayloadType]
  | { readonly kind: typeof CUSTOM_KIND; readonly payload: unknown };

type Issue = v.BaseIssue<unknown>;

// Within a union, the option that got furthest into the input is the one the publisher meant;
// an issue about a missing key counts one level less, so "wrong value" beats "other shape".
function missingKey(issue: Issue): boolean {
  return issue.input === undefined && issue.type.endsWith('object');
}

function score(issue: Issue): number {
  const depth = issue.path?.length ?? 0;
  return missingKey(issue) ? depth - 1 : depth;
}

function keys(issue: Issue): string[] {
  return (issue.path ?? []).map((item) => String(item.key));
}

// Union sub-issues carry paths relative to the union's input, so the prefix is carried along.
function mostRelevant(issue: Issue, prefix: readonly string[]): { issue: Issue; path: string } {
  const here = [...prefix, ...keys(issue)];
  const subs = issue.issues;
  let best: Issue | undefined;
  let bestScore = -Infinity;
  let tie = false;
  for (const sub of subs ?? []) {
    const s = score(sub);
    if (s > bestScore) {
      best = sub;
      bestScore = s;
      tie = false;
    } else if (s === bestScore) tie = true;
  }
  return best === undefined || tie ? { issue, path: here.join('.') } : mostRelevant(best, here);
}

/**
 * Tells a standard payload from a custom one. A JSON object whose `type` names a standard
 * payload must match that payload's schema; anything else (another `type`, no `type`, not an
 * object) is `custom` and is never refused. The standard value is returned parsed (defaults
 * applied, unknown fields kept); a custom payload is returned as given.
 * @throws KernelError PAYLOAD_INVALID naming the first failing field path (details: `type`, `path`).
 */
export function classifyPayload(payload: unknown): ClassifiedPayload {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { kind: CUSTOM_KIND, payload };
  const type: unknown = (payload as { type?: unknown }).type;
  if (typeof type !== 'string') return { kind: CUSTOM_KIND, payload };
  const schema = byType.get(type);
  if (schema === undefined) return { kind: CUSTOM_KIND, payload };
  const result = v.safeParse(schema, payload, { abortEarly: true });
  if (result.success) return { kind: type, payload: result.output } as ClassifiedPayload;
  const { issue, path } = mostRelevant(result.issues[0], []);
  const problem = missingKey(issue) ? 'is missing' : `is invalid: ${issue.message}`;
  throw new KernelError(
    ErrorCode.PayloadInvalid,
    `Cannot accept payload of type "${type}" as ${path === '' ? 'it' : `field "${path}"`} ${problem}`,
    { details: { type, path } },
  );
}
