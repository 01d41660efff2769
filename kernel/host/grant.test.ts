import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { GrantChecker, parseGrant, patternCovers, subjectTokens } from './grant.ts';

const token = fc.constantFrom('a', 'b', 'c');
const subject = fc.array(token, { minLength: 1, maxLength: 4 });
const pattern = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', '*'), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([tokens, tail]) => (tail ? [...tokens, '>'] : tokens));

describe('subjectTokens()', () => {
  test('`subjectTokens()` refuses empty tokens, spaces and misplaced wildcards', () => {
    for (const bad of ['', 'a..b', '.a', 'a.', 'a b', 'a.>.b', '>x', 'a.*x']) assert.equal(subjectTokens(bad, true), null, bad);
    assert.equal(subjectTokens('a.*', false), null);
    assert.deepEqual(subjectTokens('a.*.>', true), ['a', '*', '>']);
  });
});

describe('patternCovers()', () => {
  test('`patternCovers()` matches NATS rules for concrete subjects', () => {
    const covers = (p: string, s: string): boolean => patternCovers(subjectTokens(p, true) ?? [], subjectTokens(s, true) ?? []);
    assert.ok(covers('a.*', 'a.b'));
    assert.ok(!covers('a.*', 'a.b.c'));
    assert.ok(covers('a.>', 'a.b.c'));
    assert.ok(!covers('a.>', 'a'));
    assert.ok(covers('a.*.c', 'a.*.c'));
    assert.ok(!covers('a.b', 'a.*'));
    assert.ok(!covers('a.*', 'a.>'));
  });

  test('`patternCovers()` never lets a covered pattern match a subject its cover does not', () => {
    fc.assert(
      fc.property(pattern, pattern, subject, (outer, inner, s) => {
        if (patternCovers(outer, inner) && patternCovers(inner, s)) assert.ok(patternCovers(outer, s));
      }),
    );
  });

  test('`patternCovers()` is reflexive', () => {
    fc.assert(fc.property(pattern, (p) => patternCovers(p, p)));
  });
});

describe('GrantChecker', () => {
  const checker = new GrantChecker('cap', parseGrant('cap', { ipc: { publish: ['out.>'], subscribe: ['in.*'] }, kv: ['read'], env: ['TOKEN'] }));
  const denied = (fn: () => void, code: string = ErrorCode.CapabilityDenied): void => {
    assert.throws(fn, (e) => isKernelError(e, code as never));
  };

  test('`checkPublish()` allows declared subjects and refuses others', () => {
    checker.checkPublish('out.x.y');
    denied(() => checker.checkPublish('in.x'));
    denied(() => checker.checkPublish('out.*'), ErrorCode.SubjectInvalid);
  });

  test('`checkSubscribe()` allows only patterns no broader than a declared one', () => {
    checker.checkSubscribe('in.x');
    checker.checkSubscribe('in.*');
    denied(() => checker.checkSubscribe('in.>'));
    denied(() => checker.checkSubscribe('in..x'), ErrorCode.PatternInvalid);
  });

  test('`checkKv()` and `checkConfig()` follow the grant', () => {
    checker.checkKv(false);
    denied(() => checker.checkKv(true));
    checker.checkConfig('TOKEN');
    denied(() => checker.checkConfig('OTHER'));
  });

  test('`parseGrant()` allows nothing by default and names a bad key', () => {
    const none = new GrantChecker('x', parseGrant('x', {}));
    denied(() => none.checkKv(false));
    assert.throws(() => parseGrant('x', { kv: ['delete'] }), (e) => isKernelError(e, ErrorCode.CapsuleInvalid) && e.message.includes('kv'));
  });
});
