import assert from 'node:assert/strict';
import { test } from 'node:test';
import { result } from './harness.ts';
import { TABLE_END, TABLE_START, mergeResults, parseResultLine, renderTable, replaceTable, type ResultsFile } from './report-files.ts';

const machine = { cpu: 'Test CPU', cores: 2, memGiB: 4, os: 'linux 6', node: 'v20.0.0' };
const stored = (bench: string, name: string, date = '2026-01-01T00:00:00.000Z') => ({ bench, date, machine, ...result(name, 10, 'ms', 8) });

test('parseResultLine() accepts a result line and returns null for logs and malformed objects', () => {
  assert.deepEqual(parseResultLine(JSON.stringify(result('a', 1, 'ms', 2))), result('a', 1, 'ms', 2));
  assert.equal(parseResultLine('  pair 1/5: log 1/s'), null);
  assert.equal(parseResultLine('{"name":"a","value":"fast"}'), null);
  assert.equal(parseResultLine('{not json'), null);
});

test('mergeResults() replaces the benches that ran and keeps the others', () => {
  const previous: ResultsFile = [stored('append', 'append.x'), stored('cli', 'cli.old')];

  const merged = mergeResults(previous, ['cli'], [stored('cli', 'cli.new', 'new')]);

  assert.deepEqual(merged.map((r) => [r.bench, r.name, r.date]), [['append', 'append.x', '2026-01-01T00:00:00.000Z'], ['cli', 'cli.new', 'new']]);
});

test('renderTable() shows value, baseline, ratio, target and whether it was met', () => {
  const file: ResultsFile = [
    { bench: 'bus', date: '2026-11-22T00:00:00.000Z', machine, ...result('bus.rate', 61234, 'msgs/s', 1e6, { target: { of: 'value', op: '>=', bound: 50_000 } }) },
  ];

  const table = renderTable(file);

  assert.match(table, /Measured 2026-11-22 on 2 × Test CPU/);
  assert.match(table, /\| `bus.rate` \| 61,230 msgs\/s \| 1,000,000 msgs\/s \| 0.0612× \| ≥ 50,000 msgs\/s \| yes \|/);
});

test('replaceTable() rewrites only the text between the markers', () => {
  const readme = `# Astrid\n\nIntro.\n\n## Benchmarks\n\n${TABLE_START}\nold\n${TABLE_END}\n\n## After\n`;

  const out = replaceTable(readme, 'new table');

  assert.equal(out, `# Astrid\n\nIntro.\n\n## Benchmarks\n\n${TABLE_START}\nnew table\n${TABLE_END}\n\n## After\n`);
  assert.equal(replaceTable(out, 'new table'), out);
});

test('replaceTable() appends a Benchmarks section when the markers are missing', () => {
  assert.equal(replaceTable('', 't'), `## Benchmarks\n\n${TABLE_START}\nt\n${TABLE_END}\n`);
  assert.equal(replaceTable('# A\n', 't'), `# A\n\n## Benchmarks\n\n${TABLE_START}\nt\n${TABLE_END}\n`);
});
