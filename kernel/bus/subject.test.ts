import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import * as v from 'valibot';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import {
  MAX_SUBJECT_BYTES,
  MAX_SUBJECT_TOKENS,
  SubjectPatternSchema,
  SubjectSchema,
  compilePattern,
  isPattern,
  isSubject,
  matchSubject,
  parsePattern,
  parseSubject,
  type Subject,
  type SubjectPattern,
} from './subject.ts';

// Reference models, written as plainly as possible.
const TOKEN = /^[A-Za-z0-9_:-]+$/;
function modelValid(s: string, wildcards: boolean): boolean {
  if (s.length === 0 || Buffer.byteLength(s) > MAX_SUBJECT_BYTES) return false;
  const tokens = s.split('.');
  if (tokens.length > MAX_SUBJECT_TOKENS) return false;
  return tokens.every((t, i) => TOKEN.test(t) || (wildcards && (t === '*' || (t === '>' && i === tokens.length - 1))));
}
function modelMatch(pattern: readonly string[], subject: readonly string[]): boolean {
  const [head, ...rest] = pattern;
  if (head === undefined) return subject.length === 0;
  if (head === '>') return subject.length >= 1;
  if (subject.length === 0) return false;
  return (head === '*' || head === subject[0]) && modelMatch(rest, subject.slice(1));
}

function rejects(fn: () => unknown, code: string, token: number | null, text: RegExp): void {
  assert.throws(fn, (error) => {
    assert.ok(isKernelError(error), 'a KernelError');
    assert.equal(error.code, code);
    assert.equal(error.details?.['token'], token);
    assert.match(error.message, text);
    return true;
  });
}

describe('parseSubject()', () => {
  test('`parseSubject()` returns the subject when it is valid', () => {
    const long = Array.from({ length: MAX_SUBJECT_TOKENS }, () => 'a').join('.');
    const wide = `${'x'.repeat(MAX_SUBJECT_BYTES - 2)}.y`;

    for (const s of ['a', 'agent.v1.response', 'tool.v1.execute.fs:read_file', 'A-b_C.0', long, wide]) {
      assert.equal(parseSubject(s), s);
    }
  });

  const cases: ReadonlyArray<readonly [string, string, number | null, RegExp]> = [
    ['an empty string', '', null, /as it is empty$/],
    ['a leading dot', '.a', 1, /token 1 is empty/],
    ['a trailing dot', 'a.b.', 3, /token 3 is empty/],
    ['two dots in a row', 'a..b', 2, /token 2 is empty/],
    ['a lone dot', '.', 1, /token 1 is empty/],
    ['a space', 'a.b c', 2, /token 2 contains whitespace or a control character \(U\+0020\)/],
    ['a tab', 'a\tb', 1, /U\+0009/],
    ['a NUL byte', 'a.\u0000', 2, /control character \(U\+0000\)/],
    ['DEL', 'a\u007f', 1, /U\+007F/],
    ['a dollar sign', '$SYS.x', 1, /the character "\$"/],
    ['a non-ASCII letter', 'caf\u00e9', 1, /the character "\u00e9" \(U\+00E9\)/],
    ['an emoji', 'a.\u{1F600}', 2, /U\+1F600/],
    ['a "*" token', 'a.*', 2, /token 2 is the wildcard "\*"/],
    ['a ">" token', '>', 1, /token 1 is the wildcard ">"/],
    ['a "*" inside a token', 'a.b*', 2, /token 2 contains "\*": wildcards are not allowed/],
    ['a ">" inside a token', 'x>y', 1, /contains ">"/],
  ];
  for (const [what, input, token, text] of cases) {
    test(`\`parseSubject()\` throws SUBJECT_INVALID for ${what}`, () => {
      rejects(() => parseSubject(input), ErrorCode.SubjectInvalid, token, text);
    });
  }

  test('`parseSubject()` throws SUBJECT_INVALID with both counts when there are too many tokens', () => {
    const s = Array.from({ length: MAX_SUBJECT_TOKENS + 1 }, () => 'a').join('.');

    rejects(() => parseSubject(s), ErrorCode.SubjectInvalid, null, /it has 33 tokens: the limit is 32$/);
  });

  test('`parseSubject()` throws SUBJECT_INVALID with the byte length when it is too long', () => {
    rejects(() => parseSubject('a'.repeat(257)), ErrorCode.SubjectInvalid, null, /it is 257 bytes long: the limit is 256$/);
    rejects(() => parseSubject('\u00e9'.repeat(300)), ErrorCode.SubjectInvalid, null, /it is 600 bytes long/);
  });

  test('`parseSubject()` throws SUBJECT_INVALID when given something other than a string', () => {
    rejects(() => parseSubject(42 as unknown as string), ErrorCode.SubjectInvalid, null, /a value of type "number".*not a string/);
  });

  test('`parseSubject()` quotes a long subject in the message but keeps it whole in details', () => {
    const s = `${'a'.repeat(200)}.b c`;

    assert.throws(() => parseSubject(s), (error) => {
      assert.ok(isKernelError(error, ErrorCode.SubjectInvalid));
      assert.match(error.message, /^Cannot use "a{80}…" as a subject as token 2 contains whitespace/);
      assert.equal(error.details?.['subject'], s);
      return true;
    });
  });
});

describe('parsePattern()', () => {
  test('`parsePattern()` accepts literals, "*" anywhere and ">" as the last token', () => {
    for (const p of ['a', '*', '>', 'a.*', '*.b', 'a.*.c', 'a.>', '*.*.>', 'tool.v1.execute.*.result']) {
      assert.equal(parsePattern(p), p);
    }
  });

  const cases: ReadonlyArray<readonly [string, string, number | null, RegExp]> = [
    ['an empty string', '', null, /it is empty$/],
    ['an empty token', 'a..>', 2, /token 2 is empty/],
    ['">" before the last token', 'a.>.b', 2, /token 2 is ">" but ">" may only be the last token/],
    ['">" twice', '>.>', 1, /token 1 is ">"/],
    ['"*" inside a token', 'a.b*', 2, /token 2 contains "\*": a wildcard must be a whole token/],
    ['">" inside a token', '>a', 1, /token 1 contains ">"/],
    ['whitespace', 'a. ', 2, /U\+0020/],
  ];
  for (const [what, input, token, text] of cases) {
    test(`\`parsePattern()\` throws PATTERN_INVALID for ${what}`, () => {
      rejects(() => parsePattern(input), ErrorCode.PatternInvalid, token, text);
    });
  }

  test('`parsePattern()` throws PATTERN_INVALID when there are too many tokens or bytes', () => {
    rejects(() => parsePattern(Array.from({ length: 33 }, () => '*').join('.')), ErrorCode.PatternInvalid, null, /33 tokens/);
    rejects(() => parsePattern(`${'a'.repeat(300)}.>`), ErrorCode.PatternInvalid, null, /302 bytes/);
  });
});

describe('schemas and predicates', () => {
  test('`SubjectSchema` refuses what `parseSubject()` refuses, with the same reason', () => {
    const result = v.safeParse(SubjectSchema, 'a..b');

    assert.equal(result.success, false);
    assert.equal(result.issues?.[0]?.message, 'Invalid subject: token 2 is empty');
    assert.equal(v.parse(SubjectPatternSchema, 'a.>'), 'a.>');
    assert.equal(v.safeParse(SubjectPatternSchema, 7).success, false);
  });

  test('`isSubject()` and `isPattern()` answer false for non-strings and wildcard subjects', () => {
    assert.equal(isSubject(undefined), false);
    assert.equal(isSubject('a.*'), false);
    assert.equal(isPattern('a.*'), true);
    assert.equal(isPattern({}), false);
  });
});

describe('matching edge cases', () => {
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['>', 'a', true],
    ['>', 'a.b.c', true],
    ['*', 'a', true],
    ['*', 'a.b', false],
    ['a.>', 'a', false],
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c', true],
    ['a.>', 'ab.c', false],
    ['a.*', 'a', false],
    ['a.*', 'a.b.c', false],
    ['a', 'a.b', false],
    ['a.b', 'a', false],
    ['ab', 'a', false],
    ['a', 'ab', false],
    ['*.b', 'a.b', true],
    ['*.b', 'a.bc', false],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.c', false],
    ['*.*.>', 'a.b', false],
    ['*.*.>', 'a.b.c', true],
    ['tool.v1.execute.*.result', 'tool.v1.execute.fs:read.result', true],
  ];
  for (const [pattern, subject, expected] of cases) {
    test(`\`matchSubject()\` and \`compilePattern()\` give ${String(expected)} for "${pattern}" against "${subject}"`, () => {
      const p = parsePattern(pattern);
      const s = parseSubject(subject);

      assert.equal(matchSubject(p, s), expected);
      assert.equal(compilePattern(pattern)(s), expected);
      assert.equal(modelMatch(pattern.split('.'), subject.split('.')), expected);
    });
  }

  test('`compilePattern()` throws PATTERN_INVALID for an invalid pattern', () => {
    rejects(() => compilePattern('a.>.b'), ErrorCode.PatternInvalid, 2, /may only be the last token/);
  });

  test('`matchSubject()` matches a subject of 32 tokens against wildcards at both ends', () => {
    const tokens = Array.from({ length: 32 }, (_, i) => `t${i}`);
    const subject = parseSubject(tokens.join('.'));
    const pattern = parsePattern(['*', ...tokens.slice(1, 31), '>'].join('.'));

    assert.equal(matchSubject(pattern, subject), true);
    assert.equal(compilePattern(pattern)(subject), true);
  });
});

describe('properties', () => {
  const token = fc.constantFrom('a', 'b', 'ab', 'a-b', 'x:y', 'B_1');
  const subjectTokens = fc.array(token, { minLength: 1, maxLength: MAX_SUBJECT_TOKENS });
  const patternTokens = fc
    .tuple(fc.array(fc.oneof(token, fc.constant('*')), { minLength: 0, maxLength: MAX_SUBJECT_TOKENS }), fc.boolean())
    .map(([body, tail]) => (tail || body.length === 0 ? [...body.slice(0, MAX_SUBJECT_TOKENS - 1), '>'] : body));
  // Patterns derived from a subject, so that matches are common.
  const related = subjectTokens.chain((s) =>
    fc
      .tuple(fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.nat({ max: s.length }), fc.boolean())
      .map(([stars, cut, tail]) => {
        const body = s.map((t, i) => (stars[i] === true ? '*' : t));
        const pattern = tail && cut > 0 ? [...body.slice(0, cut - 1), '>'] : body;
        return { subject: s, pattern };
      }),
  );

  function agree(patternTokens: readonly string[], subjectTokens: readonly string[]): void {
    const p = patternTokens.join('.') as SubjectPattern;
    const s = subjectTokens.join('.') as Subject;
    const expected = modelMatch(patternTokens, subjectTokens);
    assert.equal(matchSubject(p, s), expected, `matchSubject("${p}", "${s}")`);
    assert.equal(compilePattern(p)(s), expected, `compilePattern("${p}")("${s}")`);
  }

  test('`matchSubject()` and `compilePattern()` agree with the recursive model on random pairs', () => {
    fc.assert(fc.property(patternTokens, subjectTokens, agree), { numRuns: 2000 });
  });

  test('`matchSubject()` and `compilePattern()` agree with the recursive model on related pairs', () => {
    fc.assert(fc.property(related, ({ pattern, subject }) => agree(pattern, subject)), { numRuns: 2000 });
  });

  test('`matchSubject()` matches every subject against itself, and against ">"', () => {
    fc.assert(
      fc.property(subjectTokens, (tokens) => {
        const s = parseSubject(tokens.join('.'));
        assert.equal(matchSubject(s as string as SubjectPattern, s), true);
        assert.equal(matchSubject(parsePattern('>'), s), true);
      }),
    );
  });

  test('`isSubject()` and `isPattern()` agree with the regex model on arbitrary strings', () => {
    const chars = fc.constantFrom('a', 'Z', '0', '_', '-', ':', '.', '.', '*', '>', ' ', '\t', '\u0000', '$', '\u00e9');
    const text = fc.oneof(
      fc.array(chars, { maxLength: 24 }).map((cs) => cs.join('')),
      fc.array(fc.constantFrom('a', '*', '>', '.'), { minLength: 60, maxLength: 300 }).map((cs) => cs.join('')),
    );

    fc.assert(
      fc.property(text, (s) => {
        assert.equal(isSubject(s), modelValid(s, false), `isSubject(${JSON.stringify(s)})`);
        assert.equal(isPattern(s), modelValid(s, true), `isPattern(${JSON.stringify(s)})`);
      }),
      { numRuns: 5000 },
    );
  });
});
