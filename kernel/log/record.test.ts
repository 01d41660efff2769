import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeRecord, encodeBody, encodeRecord, RecordWriter, sha256Hex, type RecordFields } from './record.ts';

const fields = (seq: number, text: string, over: Partial<RecordFields> = {}): RecordFields => ({
  seq, origin: 'host1', ts: 1_733_400_000_000, type: 'kv.value.set', v: 1, source: 'user:cli', subject: undefined,
  dataJson: JSON.stringify({ text }), prev: 'f'.repeat(64), ...over,
});
/** The canonical string record of the same fields. */
const expected = (f: RecordFields): { body: string; record: string } => {
  const body = encodeBody({ ...f, id: `${f.origin}:${f.seq}` });
  return { body, record: encodeRecord(sha256Hex(body), body) };
};

const arbitraryFields = fc.record({
  seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  origin: fc.oneof(fc.stringMatching(/^[a-z0-9]{4,32}$/), fc.string({ unit: 'grapheme' })),
  ts: fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.constant(0)),
  type: fc.oneof(fc.constantFrom('kv.value.set', 'bus.message.published'), fc.string()),
  v: fc.integer({ min: 1, max: 1000 }),
  source: fc.oneof(fc.constantFrom('user:cli', 'kernel', 'capsule:fs'), fc.string({ unit: 'binary' })),
  subject: fc.option(fc.string({ unit: 'binary' }), { nil: undefined }),
  dataJson: fc.jsonValue().map((j) => JSON.stringify(j)),
  prev: fc.stringMatching(/^[0-9a-f]{64}$/),
});

test('RecordWriter writes exactly hash ‖ encodeBody(fields), for any envelope', () => {
  const writer = new RecordWriter();
  fc.assert(
    fc.property(fc.array(arbitraryFields, { minLength: 1, maxLength: 8 }), (batch) => {
      const written = batch.map((f) => ({ f, text: writer.write(f), hash: writer.hash }));
      for (const { f, text, hash } of written) {
        const { body, record } = expected(f);
        assert.equal(text, record);
        // The UTF-8 bytes LMDB stores: lone surrogates come out escaped, never as U+FFFD.
        assert.deepEqual(Buffer.from(text, 'utf8'), Buffer.from(record, 'utf8'));
        assert.equal(Buffer.from(text, 'utf8').toString('utf8'), text);
        assert.equal(hash, sha256Hex(body));
      }
    }),
    { numRuns: 300 },
  );
});

test('RecordWriter.finish(prefix) equals write, and a prefix holds no line break, for any envelope', () => {
  const writer = new RecordWriter();
  fc.assert(
    fc.property(arbitraryFields, (f) => {
      const prefix = writer.prefix(f);
      assert.ok(!prefix.includes('\n'));
      assert.equal(writer.finish(prefix, f.prev), expected(f).record);
    }),
    { numRuns: 300 },
  );
});

test('RecordWriter round-trips through decodeRecord, non-ASCII and astral text included', () => {
  const writer = new RecordWriter();
  for (const [i, text] of ['plain', 'zoë ✓ 日本', '\u{1F600} astral', ''].entries()) {
    const record = writer.write(fields(i + 1, text, { subject: `agent.${i}.ü` }));
    const event = decodeRecord(Buffer.from(record, 'utf8').toString('utf8'));
    assert.equal(event.hash, writer.hash);
    assert.equal(event.id, `host1:${i + 1}`);
    assert.deepEqual(event.data, { text });
  }
});
