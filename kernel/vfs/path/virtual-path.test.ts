import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import * as v from 'valibot';
import { ErrorCode, isKernelError } from '../../errors/index.ts';
import {
  VirtualPathSchema,
  isWithinVirtual,
  normalizeVirtualPath,
  relativeVirtual,
  virtualPathParts,
  type VirtualPath,
} from './virtual-path.ts';

const vp = (s: string): VirtualPath => normalizeVirtualPath(s);

describe('normalizeVirtualPath()', () => {
  test('normalizeVirtualPath() roots, collapses and trims when given relative or untidy input', () => {
    const cases: Array<[string, string]> = [
      ['a/b', '/a/b'],
      ['/a//b/', '/a/b'],
      ['./a/./b/.', '/a/b'],
      ['/', '/'],
      ['.', '/'],
      ['//', '/'],
      ['/etc/passwd', '/etc/passwd'],
      ['/ü/😀 x/...', '/ü/😀 x/...'],
    ];

    const out = cases.map(([input]) => normalizeVirtualPath(input));

    assert.deepEqual(out, cases.map(([, expected]) => expected));
  });

  test('normalizeVirtualPath() refuses every ".." with PATH_ESCAPE when a component is ".."', () => {
    for (const input of ['..', '../x', '/a/../b', 'a/..', '/a/b/../../..']) {
      assert.throws(() => normalizeVirtualPath(input), (e) => isKernelError(e, ErrorCode.PathEscape), input);
    }
  });

  test('normalizeVirtualPath() refuses malformed input with PATH_INVALID', () => {
    const bad: unknown[] = [
      '',
      'a\u0000b',
      'a\nb',
      'a\u007fb',
      'a\\b',
      'C:\\Windows',
      'a\ud800b',
      `/${'x'.repeat(256)}`,
      `/${'é'.repeat(128)}`, // 256 bytes in UTF-8
      `/${'a/'.repeat(2048)}b`,
      42,
      null,
    ];

    for (const input of bad) {
      assert.throws(() => normalizeVirtualPath(input), (e) => isKernelError(e, ErrorCode.PathInvalid), String(input).slice(0, 20));
    }
  });

  test('normalizeVirtualPath() accepts a component of exactly 255 bytes and a path of 4096 bytes', () => {
    const name = 'x'.repeat(255);
    const long = `/${'abcdefg/'.repeat(511)}abcdefg`; // 4096 bytes

    assert.equal(normalizeVirtualPath(`/${name}`), `/${name}`);
    assert.equal(normalizeVirtualPath(long).length, 4096);
    assert.throws(() => normalizeVirtualPath(`${long}x`), (e) => isKernelError(e, ErrorCode.PathInvalid));
  });

  test('normalizeVirtualPath() is idempotent and yields canonical paths for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '/', '.', '\\', '\u0000', ' ', 'é', '\ud83d') }), (s) => {
        let out: VirtualPath;
        try {
          out = normalizeVirtualPath(s);
        } catch (error) {
          assert.ok(isKernelError(error, ErrorCode.PathInvalid) || isKernelError(error, ErrorCode.PathEscape));
          return;
        }
        assert.equal(normalizeVirtualPath(out), out);
        assert.ok(out.startsWith('/'));
        assert.ok(out === '/' || !out.endsWith('/'));
        assert.ok(!virtualPathParts(out).some((p) => p === '' || p === '.' || p === '..'));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('VirtualPathSchema', () => {
  test('VirtualPathSchema parses to the normalised path and reports the message when invalid', () => {
    const ok = v.safeParse(VirtualPathSchema, 'a//b');
    const bad = v.safeParse(VirtualPathSchema, '../x');

    assert.equal(ok.success && ok.output, '/a/b');
    assert.equal(bad.success, false);
    assert.match(bad.issues?.[0]?.message ?? '', /"\.\." component/);
  });
});

describe('isWithinVirtual() and relativeVirtual()', () => {
  test('isWithinVirtual() matches whole components only', () => {
    assert.equal(isWithinVirtual(vp('/src'), vp('/src')), true);
    assert.equal(isWithinVirtual(vp('/src'), vp('/src/a')), true);
    assert.equal(isWithinVirtual(vp('/src'), vp('/srcx')), false);
    assert.equal(isWithinVirtual(vp('/src/a'), vp('/src')), false);
    assert.equal(isWithinVirtual(vp('/'), vp('/anything')), true);
  });

  test('relativeVirtual() gives the rest rooted at "/" and null outside', () => {
    assert.equal(relativeVirtual(vp('/src'), vp('/src/a/b')), '/a/b');
    assert.equal(relativeVirtual(vp('/src'), vp('/src')), '/');
    assert.equal(relativeVirtual(vp('/'), vp('/x')), '/x');
    assert.equal(relativeVirtual(vp('/src'), vp('/srcx')), null);
  });
});
