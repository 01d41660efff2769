import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { CUSTOM_KIND, STANDARD_PAYLOAD_TYPES, classifyPayload, isStandardPayloadType } from './payloads.ts';

// One valid example per standard type, as a capsule of the original Astrid would publish it.
const valid: Record<string, Record<string, unknown>> = {
  user_input: { type: 'user_input', text: 'list the files', session_id: 's1', context: { action: 'cancel_turn' } },
  agent_response: { type: 'agent_response', text: 'Done.', is_final: true, session_id: 's1' },
  approval_required: {
    type: 'approval_required',
    request_id: '0f8e3c1a-1b2c-4d5e-8f90-123456789abc',
    action: 'rm',
    resource: 'rm -rf build',
    reason: "Capsule 'shell' requests approval",
    risk_level: 'high',
  },
  approval_response: { type: 'approval_response', request_id: '0f8e3c1a-1b2c-4d5e-8f90-123456789abc', decision: 'approve_session' },
  tool_execute_request: { type: 'tool_execute_request', call_id: 'toolu_01', tool_name: 'fs:read_file', arguments: { file_path: 'a.txt' } },
  tool_execute_result: {
    type: 'tool_execute_result',
    call_id: 'toolu_01',
    result: { call_id: 'toolu_01', content: 'hello', is_error: false },
  },
  tool_cancel_request: { type: 'tool_cancel_request', call_ids: ['toolu_01', 'toolu_02'] },
  llm_request: {
    type: 'llm_request',
    request_id: 'r1',
    model: 'claude-sonnet-4-20250514',
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ id: 'toolu_01', name: 'read_file', arguments: {} }] },
      { role: 'tool', content: { call_id: 'toolu_01', content: 'x', is_error: false } },
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', data: 'aGk=', media_type: 'image/png' }] },
    ],
    tools: [{ name: 'read_file', input_schema: { type: 'object' } }],
    system: 'You are helpful',
  },
  llm_stream_event: { type: 'llm_stream_event', request_id: 'r1', event: { TextDelta: 'Hel' } },
  llm_response: {
    type: 'llm_response',
    request_id: 'r1',
    response: {
      message: { role: 'assistant', content: 'Hello' },
      has_tool_calls: false,
      stop_reason: 'EndTurn',
      usage: { input_tokens: 10, output_tokens: 2 },
    },
  },
};

function rejectsAt(payload: unknown, path: string, text: RegExp): void {
  assert.throws(() => classifyPayload(payload), (error) => {
    assert.ok(isKernelError(error, ErrorCode.PayloadInvalid), 'PAYLOAD_INVALID');
    assert.equal(error.details?.['path'], path);
    assert.match(error.message, text);
    return true;
  });
}

describe('classifyPayload()', () => {
  test('`classifyPayload()` has one valid example for every standard type', () => {
    assert.deepEqual(Object.keys(valid).sort(), [...STANDARD_PAYLOAD_TYPES].sort());
  });

  for (const [type, payload] of Object.entries(valid)) {
    test(`\`classifyPayload()\` returns kind "${type}" for a valid "${type}" payload`, () => {
      const result = classifyPayload(payload);

      assert.equal(result.kind, type);
      assert.equal((result.payload as { type: string }).type, type);
    });
  }

  test('`classifyPayload()` accepts every streamed event shape of the original', () => {
    const events = [
      'Done',
      { TextDelta: 'a' },
      { ToolCallStart: { id: 't1', name: 'read_file' } },
      { ToolCallDelta: { id: 't1', args_delta: '{"a":' } },
      { ToolCallEnd: { id: 't1' } },
      { ReasoningDelta: 'hmm' },
      { Usage: { input_tokens: 3, output_tokens: 4 } },
      { Error: 'overloaded' },
    ];

    for (const event of events) {
      assert.equal(classifyPayload({ type: 'llm_stream_event', request_id: 'r1', event }).kind, 'llm_stream_event');
    }
  });

  test('`classifyPayload()` applies the original defaults and keeps unknown fields', () => {
    const input = classifyPayload({ type: 'user_input', text: 'hi', extra: 1 });
    const request = classifyPayload({ type: 'llm_request', request_id: 'r1', model: 'm', messages: [] });
    const call = classifyPayload({ type: 'tool_execute_request', call_id: 'c', tool_name: 'ls' });

    assert.deepEqual(input, { kind: 'user_input', payload: { type: 'user_input', text: 'hi', session_id: 'default', extra: 1 } });
    assert.ok(request.kind === 'llm_request');
    assert.deepEqual(request.payload.tools, []);
    assert.equal(request.payload.system, '');
    assert.ok(call.kind === 'tool_execute_request');
    assert.deepEqual(call.payload.arguments, {});
  });

  test('`classifyPayload()` returns custom, unchanged, for anything that is not a standard payload', () => {
    const others: unknown[] = [
      null,
      42,
      'text',
      true,
      [{ type: 'user_input', text: 'in an array' }],
      {},
      { text: 'no type' },
      { type: 7, text: 'type is not a string' },
      { type: 'custom', data: { a: 1 } },
      { type: 'raw_json', method: 'x' },
      { type: 'connect' },
      { type: 'USER_INPUT', text: 'case matters' },
      { type: 'toString' },
      { type: '__proto__' },
    ];

    for (const payload of others) {
      const result = classifyPayload(payload);
      assert.equal(result.kind, CUSTOM_KIND);
      assert.equal(result.payload, payload);
    }
  });

  test('`classifyPayload()` never throws for a payload whose type is not standard (property)', () => {
    const notStandard = fc.oneof(
      fc.jsonValue(),
      fc.record({ type: fc.string().filter((t) => !isStandardPayloadType(t)), data: fc.jsonValue() }),
    );

    fc.assert(
      fc.property(notStandard, (payload) => {
        assert.equal(classifyPayload(payload).kind, CUSTOM_KIND);
      }),
    );
  });

  test('`classifyPayload()` throws PAYLOAD_INVALID naming a missing field', () => {
    rejectsAt({ type: 'user_input' }, 'text', /^Cannot accept payload of type "user_input" as field "text" is missing$/);
    rejectsAt({ type: 'agent_response', text: 'x' }, 'is_final', /field "is_final" is missing/);
  });

  test('`classifyPayload()` throws PAYLOAD_INVALID naming a field of the wrong type', () => {
    rejectsAt({ ...valid['agent_response'], is_final: 'yes' }, 'is_final', /field "is_final" is invalid: .*Expected boolean/);
    rejectsAt({ ...valid['tool_cancel_request'], call_ids: ['a', 3] }, 'call_ids.1', /field "call_ids.1" is invalid/);
  });

  test('`classifyPayload()` throws PAYLOAD_INVALID for a value outside an enumeration', () => {
    rejectsAt({ ...valid['approval_required'], risk_level: 'extreme' }, 'risk_level', /field "risk_level" is invalid/);
    rejectsAt({ ...valid['approval_response'], decision: 'maybe' }, 'decision', /field "decision" is invalid/);
  });

  test('`classifyPayload()` throws PAYLOAD_INVALID for a request id that cannot end a reply subject', () => {
    rejectsAt({ ...valid['approval_response'], request_id: 'a.b' }, 'request_id', /it ends a reply subject/);
    rejectsAt({ ...valid['approval_response'], request_id: '' }, 'request_id', /field "request_id" is invalid/);
  });

  test('`classifyPayload()` throws PAYLOAD_INVALID for a tool name with a dot', () => {
    rejectsAt({ ...valid['tool_execute_request'], tool_name: 'fs.read' }, 'tool_name', /field "tool_name" is invalid/);
  });

  test('`classifyPayload()` points into the union option the publisher meant', () => {
    const event = (e: unknown) => ({ type: 'llm_stream_event', request_id: 'r1', event: e });
    const content = (c: unknown) => ({ ...valid['llm_request'], messages: [{ role: 'user', content: c }] });

    rejectsAt(event({ TextDelta: 5 }), 'event.TextDelta', /Expected string but received 5/);
    rejectsAt(event({ Usage: { input_tokens: -1, output_tokens: 0 } }), 'event.Usage.input_tokens', /is invalid/);
    rejectsAt(event({ Unknown: 'x' }), 'event', /Expected "Done" or an object with exactly one of "TextDelta"/);
    rejectsAt(event('done'), 'event', /Expected "Done"/);
    rejectsAt(content([{ type: 'text', text: 1 }]), 'messages.0.content.0.text', /Expected string/);
    rejectsAt(content([{ type: 'image', data: 'x', media_type: 5 }]), 'messages.0.content.0.media_type', /Expected string/);
    // Two options fail equally far (a tool call without "id", an image without "media_type"):
    // the union itself is reported, with a message that lists the shapes.
    rejectsAt(content([{ type: 'image', data: 'x' }]), 'messages.0.content', /Expected a string, a list of tool calls, one tool result/);
  });

  test('`classifyPayload()` quotes the type and path in details', () => {
    assert.throws(() => classifyPayload({ type: 'llm_response', request_id: 'r1', response: {} }), (error) => {
      assert.ok(isKernelError(error, ErrorCode.PayloadInvalid));
      assert.deepEqual(error.details, { type: 'llm_response', path: 'response.message' });
      return true;
    });
  });
});
