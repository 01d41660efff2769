import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { IgnoreBoundary } from './boundary.ts';

test('isIgnored gives the same answers when asked again (remembered decisions)', () => {
  const boundary = IgnoreBoundary.fromFiles({ '': 'build/\n*.log\n!keep.log\n', src: '*.snap\n' });
  const cases: Array<[string, boolean, boolean]> = [
    ['build', false, false],
    ['build', true, true],
    ['/build', true, true],
    ['a.log', false, true],
    ['keep.log', false, false],
    ['src/x.snap', false, true],
    ['/src/x.snap', false, true],
    ['x.snap', false, false],
    ['.env', false, true],
    ['', false, false],
    ['/', true, false],
  ];
  for (let round = 0; round < 3; round += 1) {
    for (const [path, isDir, expected] of cases) {
      assert.equal(boundary.isIgnored(path, isDir), expected, `${path} (dir: ${isDir}, round ${round})`);
      assert.equal(boundary.check(path, { isDir }).ignored, expected, `check ${path}`);
    }
  }
});

test('isIgnored refuses a malformed path every time it is asked', () => {
  const boundary = IgnoreBoundary.fromFiles({});
  for (let round = 0; round < 2; round += 1) {
    for (const bad of ['a/../b', 'a//b', './a', 'a/', 'a\u0000b']) {
      assert.throws(() => boundary.isIgnored(bad), (e: unknown) => isKernelError(e) && e.code === ErrorCode.PathInvalid, bad);
    }
  }
});
