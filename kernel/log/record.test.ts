import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRecord, encodeBody, encodeRecord, RecordWriter, sha256Hex } from './record.ts';

const body = (seq: number, text: string): string =>
  encodeBody({ seq, id: `h:${seq}`, origin: 'h', ts: 1, type: 't', v: 1, source: 's', subject: undefined, dataJson: JSON.stringify({ text }), prev: 'f'.repeat(64) });

test('RecordWriter writes hash ‖ body as UTF-8, the same bytes as the string record', () => {
  const writer = new RecordWriter();
  const texts = ['plain', 'zoë ✓ 日本', '\u{1F600} astral', ''];
  const written = texts.map((t, i) => {
    const b = body(i + 1, t);
    const bytes = writer.write(b);
    assert.equal(writer.hash, sha256Hex(b));
    return { b, bytes, hash: writer.hash };
  });
  // Earlier records stay intact while later ones are written into the same buffer.
  for (const { b, bytes, hash } of written) {
    assert.deepEqual(bytes, Buffer.from(encodeRecord(hash, b)));
    assert.equal(decodeRecord(bytes.toString('utf8')).hash, hash);
  }
});

test('RecordWriter moves to a new buffer when a batch outgrows one, keeping earlier records valid', () => {
  const writer = new RecordWriter();
  const big = 'x'.repeat(700_000); // two of these overflow the first 1 MiB buffer
  const first = writer.write(body(1, big));
  const firstHash = writer.hash;
  const second = writer.write(body(2, big + '✓'));
  assert.deepEqual(first, Buffer.from(encodeRecord(firstHash, body(1, big))));
  assert.deepEqual(second, Buffer.from(encodeRecord(writer.hash, body(2, big + '✓'))));
  writer.reset();
  assert.deepEqual(writer.write(body(3, 'after reset')), Buffer.from(encodeRecord(writer.hash, body(3, 'after reset'))));
});
