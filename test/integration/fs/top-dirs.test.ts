/**
 * Kiln's big trees are spread by ext4's Orlov allocator (src/fs/top-dirs.ts): the directories holding them
 * carry FS_TOPDIR_FL, read back here with e2fsprogs' lsattr. The machine's temp dir is ext4 on the machines
 * this project runs on; on another filesystem the marking must fail quietly, which is asserted instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { markTopDirs } from '../../../src/fs/top-dirs.ts';
import { createWorkDir } from '../../../src/builder/work-dir.ts';
import { dirFlags as flags, onExt4 } from './top-dir-flags.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-topdirs-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('markTopDirs sets T, keeps the flags already set, and counts what it could not mark', async (t) => {
  const dir = tempDir(t);
  const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
  fs.mkdirSync(a);
  fs.mkdirSync(b);
  if (!onExt4(dir)) {
    assert.equal(await markTopDirs([a, b]), 0, 'nothing marked off ext4, and no error');
    return;
  }
  execFileSync('chattr', ['+A', a]);
  assert.equal(await markTopDirs([a, path.join(dir, 'missing'), b]), 2);
  assert.match(flags(a), /T/);
  assert.match(flags(a), /A/, 'noatime, set before, is still set');
  assert.match(flags(b), /T/);
  assert.doesNotMatch(flags(dir), /T/, 'only the dirs named');
  assert.equal(await markTopDirs([]), 0);
});

test('a build\'s layer dirs and stage rootfs dirs are children of marked dirs, its parent is left alone', async (t) => {
  const dir = tempDir(t);
  const work = createWorkDir(dir);
  t.after(() => work.remove());
  const layer = await work.newLayerDir();
  const rootfs = work.newRootfs(0);
  assert.ok(fs.statSync(layer).isDirectory());
  assert.equal(path.dirname(rootfs), work.root);
  if (!onExt4(dir)) return;
  assert.match(flags(path.dirname(layer)), /T/);
  assert.match(flags(work.root), /T/);
  assert.doesNotMatch(flags(dir), /T/, 'the directory Kiln was given (e.g. /tmp) is not Kiln\'s to mark');
});
