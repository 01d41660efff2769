import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { tempDir } from '../../test/support/temp-dir.ts';
import { IGNORE_FILE } from './boundary.ts';
import { loadIgnoreBoundary } from './load-boundary.ts';

// Names in paths: case pairs, dots, spaces, glob characters and a leading "!"/"#".
const NAMES = ['a', 'b', 'c', 'A', 'ab', 'Ab', 'a.txt', 'b.js', 'c.TXT', '.h', 'x y', 'z ', '[a]', '!n', '#h', 'a*b', 'q?', 'foo', 'bar', 'Foo', 'build', 'lib'];
// Few top-level names, so rule files sit above many paths and nested rules get exercised.
const TOP = ['a', 'A', 'lib', '[a]', '!n', '#h', 'x y'];
// Pieces of rules: literals, wildcards, classes, escapes.
const TOKENS = ['a', 'b', 'c', 'A', 'ab', 'Ab', '*', '?', '**', 'a*', '*.txt', '*.js', '*.TXT', '[ab]', '[!a]', '[a-c]', '[A-Z]*',
  '\\*', '\\?', 'x y', 'x\\ y', '\\!n', '\\#h', '#h', '.h', '.*', 'foo', 'bar', 'Foo', '\\[a\\]', 'a\\*b', 'q?', 'build', 'lib', 'z\\ ', 'f*o', 'b*r'];
const SPECIAL_LINES = ['', '#comment', ' #x', '\\#h', '**', '**/', '/**', '*', '!*', '*/', '!*/', 'a/**', '**/a', 'a/**/b', '/*', '!', '/', '*.txt ', '*.txt\\ ', '*  '];

const ruleLine = fc.oneof(
  { weight: 5, arbitrary: fc.record({
    negative: fc.boolean(),
    lead: fc.boolean(),
    tokens: fc.array(fc.oneof(fc.constantFrom(...TOKENS), fc.constantFrom(...NAMES, ...TOP)), { minLength: 1, maxLength: 3 }),
    dirOnly: fc.boolean(),
    trailing: fc.constantFrom('', '', '', ' ', '  ', '\t'),
  }).map((r) => `${r.negative ? '!' : ''}${r.lead ? '/' : ''}${r.tokens.join('/')}${r.dirOnly ? '/' : ''}${r.trailing}`) },
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_LINES) },
  // A bare name: matches at any depth below its file, the case nested files get wrong most easily.
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('', '', '!'), fc.constantFrom(...NAMES), fc.constantFrom('', '', '/')).map((p) => p.join('')) },
);
const ruleFile = fc.record({
  lines: fc.array(ruleLine, { minLength: 1, maxLength: 8 }),
  crlf: fc.boolean(),
  bom: fc.boolean(),
  finalNewline: fc.boolean(),
}).map((f) => `${f.bom ? '\ufeff' : ''}${f.lines.join(f.crlf ? '\r\n' : '\n')}${f.finalNewline ? '\n' : ''}`);

const scenario = fc.record({
  paths: fc.array(
    fc.tuple(fc.constantFrom(...TOP), fc.array(fc.constantFrom(...NAMES), { maxLength: 3 })).map(([top, rest]) => [top, ...rest].join('/')),
    { minLength: 40, maxLength: 200 },
  ),
  files: fc.array(fc.tuple(fc.boolean(), fc.nat(), ruleFile), { minLength: 1, maxLength: 4 }),
});

interface Decision {
  ignored: boolean;
  source: string | null;
  line: number | null;
  rule: string | null;
}

/** Runs `git check-ignore -v -n` on every path and reads its decisions. */
function gitDecisions(repo: string, paths: readonly string[]): Map<string, Decision> {
  const out = spawnSync('git', ['-c', 'core.excludesFile=/dev/null', '-c', 'core.ignoreCase=false', 'check-ignore', '--no-index', '-v', '-n', '-z', '--stdin'], {
    cwd: repo,
    input: `${paths.join('\0')}\0`,
    maxBuffer: 1 << 26,
  });
  assert.ok(out.status === 0 || out.status === 1, out.stderr.toString());
  const fields = out.stdout.toString().split('\0');
  const decisions = new Map<string, Decision>();
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const [source, line, pattern, path] = fields.slice(i, i + 4) as [string, string, string, string];
    const ignored = pattern !== '' && !pattern.startsWith('!');
    decisions.set(path, ignored
      ? { ignored, source: source.replace(/\.gitignore$/, IGNORE_FILE), line: Number(line), rule: pattern }
      : { ignored, source: null, line: null, rule: null });
  }
  return decisions;
}

test('IgnoreBoundary agrees with git check-ignore on random rule sets at random depths (differential)', async () => {
  await using dir = await tempDir('ignore-git-');
  let run = 0;
  let ignoredSeen = 0;
  let nestedSeen = 0;
  let rootSeen = 0;

  await fc.assert(
    fc.asyncProperty(scenario, async ({ paths, files }) => {
      run += 1;
      const repo = join(dir.path, `r${run}`);
      await mkdir(repo);
      assert.equal(spawnSync('git', ['init', '-q', repo]).status, 0);
      // A name used as a directory cannot also be a file.
      const dirs = new Set<string>();
      for (const p of paths) {
        const parts = p.split('/');
        for (let i = 1; i < parts.length; i += 1) dirs.add(parts.slice(0, i).join('/'));
      }
      const leaves = [...new Set(paths)].filter((p) => !dirs.has(p));
      for (const d of [...dirs].sort()) await mkdir(join(repo, d), { recursive: true });
      for (const f of leaves) await writeFile(join(repo, f), '');
      // Mostly the root and shallow directories, which have the most paths below them.
      const depth = (d: string): number => d.split('/').length;
      const top = [...dirs].filter((d) => depth(d) === 1).sort();
      const ruleDirs = [...top, ...top, ...top, ...[...dirs].filter((d) => depth(d) === 2).sort()];
      for (const [atRoot, pick, text] of files) {
        const at = atRoot || ruleDirs.length === 0 ? '' : (ruleDirs[pick % ruleDirs.length] as string);
        await writeFile(join(repo, at, '.gitignore'), text);
        await writeFile(join(repo, at, IGNORE_FILE), text);
      }
      const queries = [...[...dirs].map((d) => ({ path: d, isDir: true })), ...leaves.map((f) => ({ path: f, isDir: false }))];

      const git = gitDecisions(repo, queries.map((q) => q.path));
      const boundary = await loadIgnoreBoundary(repo, { builtin: false });

      for (const { path, isDir } of queries) {
        const ours = boundary.check(path, { isDir });
        const theirs = git.get(path);
        assert.deepEqual({ path, ...ours }, { path, ...theirs }, `rules: ${JSON.stringify(files)}`);
        assert.equal(boundary.isIgnored(path, isDir), ours.ignored);
        if (ours.ignored) ignoredSeen += 1;
        if (ours.ignored && ours.source !== IGNORE_FILE) nestedSeen += 1;
        if (ours.ignored) rootSeen += ours.source === IGNORE_FILE ? 1 : 0;
      }
    }),
    { numRuns: 60, includeErrorInReport: true },
  );

  process.stderr.write(`${JSON.stringify({ ignoredSeen, nestedSeen, rootSeen })}\n`);
  assert.ok(ignoredSeen > 100, `only ${ignoredSeen} ignored decisions`);
  assert.ok(nestedSeen > 10, `only ${nestedSeen} decisions from nested files`);
});
