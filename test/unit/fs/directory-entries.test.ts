/** directoryEntries with `paths` (src/fs/layer/directory-entries.ts): the changed paths of a step as layer entries. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isKilnError } from '../../../src/errors.ts';
import { directoryEntries } from '../../../src/fs/layer/directory-entries.ts';

function tree(t: { after(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-direntries-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'a/b/c'), { recursive: true });
  writeFileSync(join(root, 'a/b/c/f1'), '1');
  writeFileSync(join(root, 'a/b/c/f2'), '2');
  mkdirSync(join(root, 'x'));
  writeFileSync(join(root, 'x/y'), 'y');
  symlinkSync('/nowhere', join(root, 'x/dangling'));
  return root;
}

const paths = (root: string, list: string[], skipMissing?: boolean) =>
  directoryEntries(root, { paths: list, xattrs: false, ...(skipMissing === undefined ? {} : { skipMissing }) }).map((e) => `${e.type} ${e.path}`);

test('paths: each with its parents, a directory with its subtree, everything once, in layer order', (t) => {
  const root = tree(t);
  assert.deepEqual(paths(root, ['a/b', 'a/b/c/f1', 'x/y']), [
    'dir a', 'dir a/b', 'dir a/b/c', 'file a/b/c/f1', 'file a/b/c/f2', 'dir x', 'file x/y',
  ]);
});

test('a missing path is an error, or with skipMissing left out with its parents; a dangling symlink is there', (t) => {
  const root = tree(t);
  assert.throws(() => paths(root, ['x/y', 'x/gone']), (err) => isKilnError(err) && err.code === 'LAYER_PATH_MISSING');
  assert.deepEqual(paths(root, ['gone/file', 'x/dangling', 'a/b/missing'], true), ['dir x', 'symlink x/dangling']);
});
