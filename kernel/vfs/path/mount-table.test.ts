import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, isKernelError } from '../../errors/index.ts';
import { MountTable, type Layer } from './mount-table.ts';

const layer = (id: string): Layer => ({ id });

describe('MountTable', () => {
  test('resolve() picks the longest prefix by whole components', () => {
    const table = new MountTable();
    table.mount({ prefix: '/', layer: layer('overlay'), readOnly: false });
    table.mount({ prefix: '/scratch', layer: layer('scratch'), readOnly: false });
    table.mount({ prefix: '/scratch/assets', layer: layer('assets'), readOnly: true });

    const hits = ['/src/a.ts', '/scratch', '/scratch/x', '/scratch/assets/logo.png', '/scratchy'].map((p) => {
      const r = table.resolve(p);
      return r === null ? null : [r.mount.layer.id, r.rest, r.mount.readOnly];
    });

    assert.deepEqual(hits, [
      ['overlay', '/src/a.ts', false],
      ['scratch', '/', false],
      ['scratch', '/x', false],
      ['assets', '/logo.png', true],
      ['overlay', '/scratchy', false],
    ]);
  });

  test('resolve() returns null when no mount covers the path', () => {
    const table = new MountTable();
    table.mount({ prefix: '/data', layer: layer('data'), readOnly: true });

    assert.equal(table.resolve('/other'), null);
  });

  test('resolve() refuses an escaping path with PATH_ESCAPE', () => {
    const table = new MountTable();
    table.mount({ prefix: '/scratch', layer: layer('scratch'), readOnly: false });

    assert.throws(() => table.resolve('/scratch/../etc'), (e) => isKernelError(e, ErrorCode.PathEscape));
  });

  test('mount() refuses a second mount at the same prefix with PATH_EXISTS', () => {
    const table = new MountTable();
    table.mount({ prefix: '/a/', layer: layer('one'), readOnly: false });

    assert.throws(
      () => table.mount({ prefix: 'a', layer: layer('two'), readOnly: false }),
      (e) => isKernelError(e, ErrorCode.PathExists),
    );
  });

  test('unmount() removes only the exact prefix and reports whether it did', () => {
    const table = new MountTable();
    table.mount({ prefix: '/', layer: layer('root'), readOnly: false });
    table.mount({ prefix: '/a', layer: layer('a'), readOnly: false });

    const removed = table.unmount('/a');
    const again = table.unmount('/a');

    assert.equal(removed, true);
    assert.equal(again, false);
    assert.equal(table.resolve('/a/x')?.mount.layer.id, 'root');
  });

  test('childMounts() lists mount points directly below a directory', () => {
    const table = new MountTable();
    table.mount({ prefix: '/', layer: layer('root'), readOnly: false });
    table.mount({ prefix: '/scratch', layer: layer('s'), readOnly: false });
    table.mount({ prefix: '/caps/fs/assets', layer: layer('assets'), readOnly: true });

    assert.deepEqual(table.childMounts('/'), ['caps', 'scratch']);
    assert.deepEqual(table.childMounts('/caps'), ['fs']);
    assert.deepEqual(table.childMounts('/scratch'), []);
  });
});
