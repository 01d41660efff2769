import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES } from './frames.ts';

/** Splits `bytes` at the given cut points (taken modulo its length). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

test('FrameDecoder.push() returns the same messages whatever the chunking', () => {
  fc.assert(
    fc.property(fc.array(fc.jsonValue(), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (messages, cuts) => {
      const bytes = Buffer.concat(messages.map((m) => encodeFrame(m)));
      const decoder = new FrameDecoder();

      const decoded = split(bytes, cuts).flatMap((chunk) => decoder.push(chunk));

      assert.deepEqual(decoded, JSON.parse(JSON.stringify(messages)));
      assert.equal(decoder.bufferedBytes, 0);
    }),
  );
});

test('FrameDecoder.push() decodes a header delivered one byte at a time', () => {
  const frame = encodeFrame({ t: 'hello', protocol: 1, text: 'héllo ✓' });
  const decoder = new FrameDecoder();

  const decoded = [...frame].flatMap((byte) => decoder.push(Uint8Array.of(byte)));

  assert.deepEqual(decoded, [{ t: 'hello', protocol: 1, text: 'héllo ✓' }]);
});

test('FrameDecoder.push() rejects an oversize length as soon as the header arrives', () => {
  const decoder = new FrameDecoder();
  const header = Buffer.alloc(4);
  header.writeUInt32BE(MAX_FRAME_BYTES + 1);

  assert.throws(() => decoder.push(header), (error) => isKernelError(error, ErrorCode.ProtocolViolation));
  assert.throws(() => decoder.push(Buffer.from('{}')), (error) => isKernelError(error, ErrorCode.ProtocolViolation));
});

test('FrameDecoder.push() accepts a frame of exactly the limit', () => {
  const frame = encodeFrame('x'.repeat(8), 10);
  const decoder = new FrameDecoder(10);

  assert.deepEqual(decoder.push(frame), ['xxxxxxxx']);
});

test('FrameDecoder.push() throws PROTOCOL_VIOLATION when a body is not JSON or not UTF-8', () => {
  for (const body of [Buffer.from('{not json'), Buffer.from([0x22, 0xff, 0xfe, 0x22]), Buffer.alloc(0)]) {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length);
    const decoder = new FrameDecoder();

    assert.throws(
      () => decoder.push(Buffer.concat([header, body])),
      (error) => isKernelError(error, ErrorCode.ProtocolViolation),
    );
  }
});

test('encodeFrame() writes a big-endian length then the UTF-8 JSON body', () => {
  const frame = encodeFrame({ a: 'é' });

  assert.equal(frame.readUInt32BE(0), frame.length - 4);
  assert.equal(frame.subarray(4).toString('utf8'), '{"a":"é"}');
});

test('encodeFrame() throws PAYLOAD_TOO_LARGE past the limit and INVALID_ARGUMENT for non-JSON', () => {
  assert.throws(() => encodeFrame('x'.repeat(20), 10), (error) => isKernelError(error, ErrorCode.PayloadTooLarge));
  assert.throws(() => encodeFrame({ n: 1n }), (error) => isKernelError(error, ErrorCode.InvalidArgument));
  assert.throws(() => encodeFrame(undefined), (error) => isKernelError(error, ErrorCode.InvalidArgument));
});
