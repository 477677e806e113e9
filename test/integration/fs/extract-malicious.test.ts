/**
 * Crafted layers that try to write outside the root filesystem. Each must leave the sentinel directory next to
 * the rootfs untouched, and either land inside the rootfs (containerd's behaviour: names are scoped to the root)
 * or fail with a KilnError. Escape attempts aim at the sentinel's real host path, never at this machine's `/`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { applyLayer } from '../../../src/fs/extract/apply-layer.ts';
import { isKilnError } from '../../../src/errors.ts';
import { listTree, makeTar, makeTempRoot, tarStream, type TarEntry, type TempRoot } from './extract-tar-helpers.ts';

/** Applies `entries` and checks the sentinel is untouched; returns the error, if any. */
async function applyHostile(root: TempRoot, entries: TarEntry[]): Promise<unknown> {
  const before = listTree(root.base, ['rootfs']);
  let error: unknown;
  try {
    await applyLayer(root.rootfs, tarStream(await makeTar(entries)));
  } catch (err) {
    error = err;
  }
  assert.deepEqual(listTree(root.base, ['rootfs']), before, 'nothing outside the rootfs may change');
  return error;
}

function assertKilnError(error: unknown, code: string): void {
  assert.ok(isKilnError(error), `expected a KilnError, got ${String(error)}`);
  assert.equal(error.code, code);
}

test('../ names are scoped to the root', async (t) => {
  const root = makeTempRoot(t);
  const error = await applyHostile(root, [
    { name: '../outside/x', content: 'a' },
    { name: '../../../outside/sub/keep', content: 'b' },
    { name: 'a/../../outside/y', content: 'c' },
  ]);
  assert.equal(error, undefined);
  assert.equal(readFileSync(join(root.rootfs, 'outside/x'), 'utf8'), 'a');
  assert.equal(readFileSync(join(root.rootfs, 'outside/sub/keep'), 'utf8'), 'b');
  assert.equal(readFileSync(join(root.rootfs, 'outside/y'), 'utf8'), 'c');
});

test('absolute names are relative to the root', async (t) => {
  const root = makeTempRoot(t);
  const error = await applyHostile(root, [{ name: `${root.outside}/x`, content: 'abs' }]);
  assert.equal(error, undefined);
  assert.equal(readFileSync(join(root.rootfs, root.outside, 'x'), 'utf8'), 'abs');
});

test('a symlink to / used as a parent stays in the root', async (t) => {
  const root = makeTempRoot(t);
  const error = await applyHostile(root, [
    { name: 'a', type: 'symlink', linkname: '/' },
    { name: `a${root.outside}/x`, content: 'via /' },
  ]);
  assert.equal(error, undefined);
  assert.equal(readlinkSync(join(root.rootfs, 'a')), '/', 'the link itself is kept verbatim');
  assert.equal(readFileSync(join(root.rootfs, root.outside, 'x'), 'utf8'), 'via /');
});

test('a relative symlink climbing above the root used as a parent stays in the root', async (t) => {
  const root = makeTempRoot(t);
  const error = await applyHostile(root, [
    { name: 'up', type: 'symlink', linkname: '../../..' },
    { name: 'c', type: 'symlink', linkname: '../outside' },
    { name: 'deep/d', type: 'symlink', linkname: '../../../../outside/sub' },
    { name: 'up/outside/x', content: '1' },
    { name: 'c/keep', content: '2' },
    { name: 'deep/d/keep', content: '3' },
  ]);
  assert.equal(error, undefined);
  assert.equal(readFileSync(join(root.rootfs, 'outside/x'), 'utf8'), '1');
  assert.equal(readFileSync(join(root.rootfs, 'outside/keep'), 'utf8'), '2');
  assert.equal(readFileSync(join(root.rootfs, 'outside/sub/keep'), 'utf8'), '3');
});

test('an absolute symlink to the host path of the sentinel is resolved in the root', async (t) => {
  const root = makeTempRoot(t);
  const error = await applyHostile(root, [
    { name: 'etc', type: 'symlink', linkname: root.outside },
    { name: 'etc/keep', content: 'inside' },
    { name: 'etc/sub/new', content: 'inside too' },
  ]);
  assert.equal(error, undefined);
  assert.equal(readFileSync(join(root.rootfs, root.outside, 'keep'), 'utf8'), 'inside');
  assert.equal(readFileSync(join(root.rootfs, root.outside, 'sub/new'), 'utf8'), 'inside too');
});

test('a directory replaced by a symlink mid-layer does not let later entries escape', async (t) => {
  const root = makeTempRoot(t);
  const error = await applyHostile(root, [
    { name: 'd/', type: 'directory', mtime: new Date(1_000_000_000_000) },
    { name: 'd/first', content: 'first' },
    { name: 'd', type: 'symlink', linkname: root.outside },
    { name: 'd/keep', content: 'second' },
    { name: 'e', type: 'symlink', linkname: '/' },
    { name: 'e', type: 'symlink', linkname: '../..' },
    { name: 'e/outside/x', content: 'third' },
  ]);
  assert.equal(error, undefined);
  assert.ok(lstatSync(join(root.rootfs, 'd')).isSymbolicLink());
  assert.equal(readFileSync(join(root.rootfs, root.outside, 'keep'), 'utf8'), 'second');
  assert.equal(readFileSync(join(root.rootfs, 'outside/x'), 'utf8'), 'third');
});

test('a hardlink to ../outside links to the scoped path, or fails when that does not exist', async (t) => {
  const root = makeTempRoot(t);
  const missing = await applyHostile(root, [{ name: 'h', type: 'link', linkname: '../outside/keep' }]);
  assertKilnError(missing, 'LAYER_INVALID');

  const viaSymlink = await applyHostile(root, [
    { name: 's', type: 'symlink', linkname: root.outside },
    { name: 'h2', type: 'link', linkname: 's/keep' },
  ]);
  assertKilnError(viaSymlink, 'LAYER_INVALID');

  mkdirSync(join(root.rootfs, 'outside'));
  writeFileSync(join(root.rootfs, 'outside/keep'), 'rootfs copy');
  const scoped = await applyHostile(root, [{ name: 'h3', type: 'link', linkname: '../../outside/keep' }]);
  assert.equal(scoped, undefined);
  assert.equal(lstatSync(join(root.rootfs, 'h3')).ino, lstatSync(join(root.rootfs, 'outside/keep')).ino);
  assert.notEqual(lstatSync(join(root.rootfs, 'h3')).ino, lstatSync(join(root.outside, 'keep')).ino);
});

test('a hardlink to a symlink links the symlink; a file over it replaces the link, not its target', async (t) => {
  const root = makeTempRoot(t);
  const error = await applyHostile(root, [
    { name: 's', type: 'symlink', linkname: join(root.outside, 'keep') },
    { name: 'h', type: 'link', linkname: 's' },
    { name: 'h', content: 'replaced link' },
    { name: 's', content: 'replaced link too' },
  ]);
  assert.equal(error, undefined);
  assert.equal(readFileSync(join(root.rootfs, 'h'), 'utf8'), 'replaced link');
  assert.equal(readFileSync(join(root.rootfs, 's'), 'utf8'), 'replaced link too');
});

test('hardlinks to the root or to a directory are rejected', async (t) => {
  const root = makeTempRoot(t);
  assertKilnError(await applyHostile(root, [{ name: 'h', type: 'link', linkname: '../..' }]), 'LAYER_UNSAFE_PATH');
  assertKilnError(
    await applyHostile(root, [{ name: 'dir/', type: 'directory' }, { name: 'h', type: 'link', linkname: 'dir' }]),
    'LAYER_UNSAFE_PATH',
  );
});

test('whiteouts climbing above the root only delete inside it', async (t) => {
  const root = makeTempRoot(t);
  writeFileSync(join(root.rootfs, 'keep'), 'lower');
  writeFileSync(join(root.base, 'keep'), 'next to the rootfs');
  const error = await applyHostile(root, [
    { name: '../.wh.keep' },
    { name: '../outside/.wh.keep' },
    { name: 'o', type: 'symlink', linkname: root.outside },
    { name: 'o/.wh.keep' },
    { name: 'o/.wh..wh..opq' },
    { name: 'p', type: 'symlink', linkname: '../outside' },
    { name: 'p/sub/.wh..wh..opq' },
  ]);
  assert.equal(error, undefined);
  assert.equal(existsSync(join(root.rootfs, 'keep')), false, 'the rootfs copy is whited out');
  assert.equal(readFileSync(join(root.base, 'keep'), 'utf8'), 'next to the rootfs');
});

test('whiteouts naming the directory or its parent are rejected', async (t) => {
  const root = makeTempRoot(t);
  mkdirSync(join(root.rootfs, 'a'));
  assertKilnError(await applyHostile(root, [{ name: 'a/.wh..' }]), 'LAYER_UNSAFE_PATH');
  assertKilnError(await applyHostile(root, [{ name: 'a/.wh...' }]), 'LAYER_UNSAFE_PATH');
  assert.ok(existsSync(join(root.rootfs, 'a')));
});

test('symlink loops fail instead of hanging', async (t) => {
  const root = makeTempRoot(t);
  const error = await applyHostile(root, [
    { name: 'l1', type: 'symlink', linkname: 'l2' },
    { name: 'l2', type: 'symlink', linkname: '/l1' },
    { name: 'l1/x', content: 'x' },
  ]);
  assertKilnError(error, 'LAYER_UNSAFE_PATH');
});

test('a device node and a fifo at hostile names are created inside the root', async (t) => {
  const root = makeTempRoot(t);
  const error = await applyHostile(root, [
    { name: 'dev', type: 'symlink', linkname: root.outside },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: '../outside/fifo', type: 'fifo', mode: 0o600 },
  ]);
  assert.equal(error, undefined);
  assert.ok(lstatSync(join(root.rootfs, root.outside, 'null')).isCharacterDevice());
  assert.ok(lstatSync(join(root.rootfs, 'outside/fifo')).isFIFO());
  assert.equal(basename(root.outside), 'outside');
});
