/** applyLayer on real tar files: entry types, metadata, hardlinks, whiteouts, replacement; GNU tar as the oracle. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, linkSync, chmodSync, chownSync, utimesSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyLayer } from '../../../src/fs/extract/apply-layer.ts';
import { findExecutable } from '../../../src/fs/extract/xattr-writer.ts';
import { listTree, makeTar, makeTempRoot, tarStream, type TarEntry } from './extract-tar-helpers.ts';
import { unmet } from '../../env/requirements.ts';

const isRoot = process.geteuid?.() === 0;
const T1 = new Date(1_500_000_000_000);
const T2 = new Date(1_600_000_000_000);

async function apply(rootfs: string, entries: TarEntry[]) {
  return applyLayer(rootfs, tarStream(await makeTar(entries)));
}

test('every entry type with its metadata', { skip: unmet(!isRoot && 'needs root for chown and mknod') }, async (t) => {
  const { rootfs } = makeTempRoot(t);
  const seen: string[] = [];
  const stats = await applyLayer(rootfs, tarStream(await makeTar([
    { name: 'bin/', type: 'directory', mode: 0o755, mtime: T1 },
    { name: 'bin/su', content: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 1000, mtime: T2 },
    { name: 'bin/sg', content: 'x', mode: 0o2711, uid: 0, gid: 42 },
    { name: 'bin/link', type: 'link', linkname: 'bin/su' },
    { name: 'bin/sh', type: 'symlink', linkname: 'su', uid: 7, gid: 8, mtime: T1 },
    { name: 'tmp/', type: 'directory', mode: 0o1777, mtime: T1 },
    { name: 'shared/', type: 'directory', mode: 0o2775, uid: 1, gid: 2, mtime: T2 },
    { name: 'shared/file', content: 'content', mode: 0o640 },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666, mtime: T1 },
    { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 },
    { name: 'run/fifo', type: 'fifo', mode: 0o620, uid: 5 },
    { name: 'big-ids', content: 'ids', uid: 300_000, gid: 300_001, pax: { uid: '300000', gid: '300001' } },
    { name: 'precise', content: 'ns', pax: { mtime: '1600000000.25' } },
  ])), { onEntry: (path) => seen.push(path) });

  assert.deepEqual(seen.slice(0, 3), ['bin', 'bin/su', 'bin/sg']);
  assert.equal(stats.files, 5);
  assert.equal(stats.hardlinks, 1);
  assert.equal(stats.specialFiles, 3);
  const su = lstatSync(join(rootfs, 'bin/su'));
  assert.equal(su.mode & 0o7777, 0o4755, 'setuid survives chown');
  assert.equal(`${su.uid}:${su.gid}`, '1000:1000');
  assert.equal(su.mtimeMs, T2.getTime());
  const sg = lstatSync(join(rootfs, 'bin/sg'));
  assert.equal(sg.mode & 0o7777, 0o2711);
  assert.equal(sg.gid, 42);
  assert.equal(lstatSync(join(rootfs, 'bin/link')).ino, su.ino, 'hardlinks share the inode');
  assert.equal(su.nlink, 2);
  const sh = lstatSync(join(rootfs, 'bin/sh'));
  assert.ok(sh.isSymbolicLink());
  assert.equal(readlinkSync(join(rootfs, 'bin/sh')), 'su');
  assert.equal(`${sh.uid}:${sh.gid}`, '7:8');
  assert.equal(sh.mtimeMs, T1.getTime());
  assert.equal(lstatSync(join(rootfs, 'tmp')).mode & 0o7777, 0o1777);
  const shared = lstatSync(join(rootfs, 'shared'));
  assert.equal(shared.mode & 0o7777, 0o2775);
  assert.equal(`${shared.uid}:${shared.gid}`, '1:2');
  assert.equal(shared.mtimeMs, T2.getTime(), 'directory times are set after their children');
  assert.equal(lstatSync(join(rootfs, 'bin')).mtimeMs, T1.getTime());
  const devNull = lstatSync(join(rootfs, 'dev/null'));
  assert.ok(devNull.isCharacterDevice());
  assert.equal(devNull.rdev, (1 << 8) | 3);
  assert.equal(devNull.mode & 0o7777, 0o666);
  const loop = lstatSync(join(rootfs, 'dev/loop9'));
  assert.ok(loop.isBlockDevice());
  assert.equal(loop.rdev, (7 << 8) | 9);
  assert.equal(loop.gid, 6);
  const fifo = lstatSync(join(rootfs, 'run/fifo'));
  assert.ok(fifo.isFIFO());
  assert.equal(fifo.mode & 0o7777, 0o620);
  assert.equal(fifo.uid, 5);
  const big = lstatSync(join(rootfs, 'big-ids'));
  assert.equal(`${big.uid}:${big.gid}`, '300000:300001', 'PAX uid/gid win over the octal fields');
  assert.equal(lstatSync(join(rootfs, 'precise')).mtimeMs, 1_600_000_000_250);
  assert.equal(lstatSync(join(rootfs, 'dev')).mode & 0o7777, 0o755, 'missing parents are created 0755');
});

test('preserveOwnership: false leaves ownership to the caller', async (t) => {
  const { rootfs } = makeTempRoot(t);
  await applyLayer(rootfs, tarStream(await makeTar([{ name: 'f', content: 'x', uid: 1234, gid: 1234, mode: 0o4755 }])), {
    preserveOwnership: false,
  });
  const stats = lstatSync(join(rootfs, 'f'));
  assert.equal(stats.uid, process.geteuid?.());
  assert.equal(stats.mode & 0o7777, 0o4755);
});

test('whiteouts and opaque directories across two layers', async (t) => {
  const { rootfs } = makeTempRoot(t);
  await apply(rootfs, [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/gone', content: 'lower' },
    { name: 'etc/stays', content: 'lower' },
    { name: 'var/lib/apt/lists/a', content: 'a' },
    { name: 'var/lib/apt/lists/b', content: 'b' },
    { name: 'opq/', type: 'directory' },
    { name: 'opq/lower', content: 'lower' },
    { name: 'opq/sub/lower', content: 'lower' },
    { name: 'opq/both', content: 'lower' },
    { name: 'late/', type: 'directory' },
    { name: 'late/lower', content: 'lower' },
  ]);
  const stats = await apply(rootfs, [
    { name: 'etc/.wh.gone' },
    { name: 'var/lib/apt/.wh.lists' },
    { name: 'etc/.wh.never-existed' },
    { name: 'opq/', type: 'directory', mode: 0o700 },
    { name: 'opq/before', content: 'same layer, before the marker' },
    { name: 'opq/sub/', type: 'directory' },
    { name: 'opq/sub/new', content: 'same layer' },
    { name: 'opq/.wh..wh..opq' },
    { name: 'opq/after', content: 'same layer, after the marker' },
    { name: 'opq/both', content: 'upper' },
    // containerd processes the marker where it appears: entries of the same layer before it are kept too.
    { name: 'late/new', content: 'upper' },
    { name: 'late/.wh..wh..opq' },
    { name: '.wh..wh.plnk/123', content: 'aufs metadata is ignored' },
  ]);
  assert.equal(stats.whiteouts, 5);
  assert.deepEqual(readdirSync(join(rootfs, 'etc')), ['stays']);
  assert.deepEqual(readdirSync(join(rootfs, 'var/lib/apt')), []);
  assert.deepEqual(readdirSync(join(rootfs, 'opq')).sort(), ['after', 'before', 'both', 'sub']);
  assert.deepEqual(readdirSync(join(rootfs, 'opq/sub')), ['new'], 'lower children of a re-declared dir are hidden');
  assert.equal(readFileSync(join(rootfs, 'opq/both'), 'utf8'), 'upper');
  assert.equal(lstatSync(join(rootfs, 'opq')).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(join(rootfs, 'late')), ['new']);
  assert.equal(existsSync(join(rootfs, '.wh..wh.plnk')), false);
});

test("whiteouts: 'none' keeps .wh. names as plain files", async (t) => {
  const { rootfs } = makeTempRoot(t);
  writeFileSync(join(rootfs, 'x'), 'kept');
  await applyLayer(rootfs, tarStream(await makeTar([{ name: '.wh.x', content: 'plain' }])), { whiteouts: 'none' });
  assert.equal(readFileSync(join(rootfs, 'x'), 'utf8'), 'kept');
  assert.equal(readFileSync(join(rootfs, '.wh.x'), 'utf8'), 'plain');
});

test('replacement: dir→file, file→dir, symlink→file, dir over dir merges', async (t) => {
  const { rootfs, base } = makeTempRoot(t);
  writeFileSync(join(base, 'target'), 'symlink target next to the rootfs');
  await apply(rootfs, [
    { name: 'd2f/', type: 'directory' },
    { name: 'd2f/child', content: 'x' },
    { name: 'f2d', content: 'file' },
    { name: 'link', type: 'symlink', linkname: '/target' },
    { name: 'target', content: 'link target in the rootfs' },
    { name: 'hostlink', type: 'symlink', linkname: join(base, 'target') },
    { name: 'merge/', type: 'directory', mode: 0o755, uid: 0 },
    { name: 'merge/lower', content: 'lower' },
    { name: 'dirlink', type: 'symlink', linkname: 'merge' },
  ]);
  await apply(rootfs, [
    { name: 'd2f', content: 'now a file' },
    { name: 'f2d/', type: 'directory' },
    { name: 'f2d/child', content: 'now a dir' },
    { name: 'link', content: 'replaced the link' },
    { name: 'hostlink', content: 'replaced the host link' },
    { name: 'merge/', type: 'directory', mode: 0o750, uid: 33, gid: 33, mtime: T1 },
    { name: 'merge/upper', content: 'upper' },
    { name: 'dirlink/', type: 'directory', mode: 0o700 },
  ]);
  assert.equal(readFileSync(join(rootfs, 'd2f'), 'utf8'), 'now a file');
  assert.equal(readFileSync(join(rootfs, 'f2d/child'), 'utf8'), 'now a dir');
  assert.ok(lstatSync(join(rootfs, 'link')).isFile());
  assert.equal(readFileSync(join(rootfs, 'target'), 'utf8'), 'link target in the rootfs');
  assert.equal(readFileSync(join(base, 'target'), 'utf8'), 'symlink target next to the rootfs');
  assert.deepEqual(readdirSync(join(rootfs, 'merge')).sort(), ['lower', 'upper']);
  const merge = lstatSync(join(rootfs, 'merge'));
  assert.equal(merge.mode & 0o777, 0o750);
  if (isRoot) assert.equal(merge.uid, 33);
  assert.equal(merge.mtimeMs, T1.getTime());
  assert.ok(lstatSync(join(rootfs, 'dirlink')).isDirectory(), 'a directory replaces a symlink to a directory');
  assert.deepEqual(readdirSync(join(rootfs, 'dirlink')), []);
});

test('a hardlink to a file of a lower layer', async (t) => {
  const { rootfs } = makeTempRoot(t);
  await apply(rootfs, [{ name: 'usr/bin/perl5.36', content: 'perl', mode: 0o755 }]);
  const stats = await apply(rootfs, [{ name: 'usr/bin/perl', type: 'link', linkname: '/usr/bin/perl5.36' }]);
  assert.equal(stats.hardlinks, 1);
  assert.equal(lstatSync(join(rootfs, 'usr/bin/perl')).ino, lstatSync(join(rootfs, 'usr/bin/perl5.36')).ino);
});

test('a truncated layer fails with LAYER_INVALID', async (t) => {
  const { rootfs } = makeTempRoot(t);
  const tar = await makeTar([{ name: 'big', content: Buffer.alloc(100_000, 1) }]);
  await assert.rejects(applyLayer(rootfs, tarStream(tar.subarray(0, 50_000))), { code: 'LAYER_INVALID' });
});

/** Builds a tree exercising what GNU tar can express, including a file capability. */
function makeGnuTree(dir: string): void {
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  mkdirSync(join(dir, 'etc/skel'), { recursive: true });
  mkdirSync(join(dir, 'tmp'));
  mkdirSync(join(dir, 'var/lib'), { recursive: true });
  writeFileSync(join(dir, 'usr/bin/tool'), 'tool\n');
  chmodSync(join(dir, 'usr/bin/tool'), 0o4755);
  linkSync(join(dir, 'usr/bin/tool'), join(dir, 'usr/bin/tool-alias'));
  copyFileSync('/bin/true', join(dir, 'usr/bin/ping'));
  symlinkSync('tool', join(dir, 'usr/bin/t'));
  symlinkSync('/usr/bin', join(dir, 'bin'));
  writeFileSync(join(dir, 'etc/skel/.bashrc'), '# bashrc\n');
  writeFileSync(join(dir, 'etc/' + 'n'.repeat(150)), 'long name');
  writeFileSync(join(dir, 'var/lib/ünïcödé'), 'utf-8 name');
  chmodSync(join(dir, 'tmp'), 0o1777);
  execFileSync('mkfifo', [join(dir, 'var/lib/fifo')]);
  if (isRoot) {
    chownSync(join(dir, 'etc/skel/.bashrc'), 1000, 1000);
    chownSync(join(dir, 'var/lib'), 100, 101);
    execFileSync('setcap', ['cap_net_raw,cap_setuid+ep', join(dir, 'usr/bin/ping')]);
  }
  utimesSync(join(dir, 'usr/bin'), T1, T1);
  utimesSync(join(dir, 'etc/skel'), T2, T2);
}

function getcap(path: string): string {
  return execFileSync('getcap', [path], { encoding: 'utf8' }).trim().split(/\s+/).slice(1).join(' ');
}

test('a GNU tar layer extracts like GNU tar extracts it', async (t) => {
  const { base } = makeTempRoot(t);
  const tree = join(base, 'tree');
  const ours = join(base, 'ours');
  const theirs = join(base, 'theirs');
  for (const dir of [tree, ours, theirs]) mkdirSync(dir);
  makeGnuTree(tree);
  const layer = join(base, 'layer.tar');
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', tree, '-cf', layer, '.']);
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', theirs, '-xpf', layer]);

  const stats = await applyLayer(ours, createReadStream(layer));
  assert.ok(stats.entries >= 15);
  assert.deepEqual(listTree(ours).slice(1), listTree(theirs).slice(1), 'same tree, modes, owners, times, contents');
  if (isRoot && findExecutable('getcap') !== undefined) {
    assert.equal(stats.xattrs, 1);
    assert.equal(getcap(join(ours, 'usr/bin/ping')), 'cap_setuid,cap_net_raw=ep');
    assert.equal(getcap(join(ours, 'usr/bin/ping')), getcap(join(theirs, 'usr/bin/ping')));
  }
});

test('a GNU tar layer with whiteouts on top of a GNU tar base', async (t) => {
  const { base } = makeTempRoot(t);
  const lower = join(base, 'lower');
  const upper = join(base, 'upper');
  const rootfs = join(base, 'root');
  mkdirSync(join(lower, 'app/cache'), { recursive: true });
  writeFileSync(join(lower, 'app/cache/old'), 'old');
  writeFileSync(join(lower, 'app/config'), 'v1');
  writeFileSync(join(lower, 'app/remove-me'), 'x');
  mkdirSync(join(upper, 'app/cache'), { recursive: true });
  writeFileSync(join(upper, 'app/.wh.remove-me'), '');
  writeFileSync(join(upper, 'app/cache/.wh..wh..opq'), '');
  writeFileSync(join(upper, 'app/cache/new'), 'new');
  writeFileSync(join(upper, 'app/config'), 'v2');
  mkdirSync(rootfs);
  for (const [dir, name] of [[lower, 'l1.tar'], [upper, 'l2.tar']]) {
    execFileSync('tar', ['-C', dir, '-cf', join(base, name), 'app']);
    await applyLayer(rootfs, createReadStream(join(base, name)));
  }
  assert.deepEqual(readdirSync(join(rootfs, 'app')).sort(), ['cache', 'config']);
  assert.deepEqual(readdirSync(join(rootfs, 'app/cache')), ['new']);
  assert.equal(readFileSync(join(rootfs, 'app/config'), 'utf8'), 'v2');
});

test('entries before their parent directory entry, and a file replacing an implied directory', async (t) => {
  const { rootfs } = makeTempRoot(t);
  await apply(rootfs, [
    { name: 'x/y/file', content: 'child first' },
    { name: 'x/y/', type: 'directory', mode: 0o710, mtime: T1 },
    { name: 'x/', type: 'directory', mode: 0o750, mtime: T2 },
    { name: 'x/implied/deep/file', content: 'deep' },
    { name: 'x/implied', content: 'a file now' },
    { name: 'x/twice', content: 'one' },
    { name: 'x/twice', content: 'two' },
  ]);
  assert.equal(readFileSync(join(rootfs, 'x/y/file'), 'utf8'), 'child first');
  assert.equal(lstatSync(join(rootfs, 'x/y')).mode & 0o777, 0o710);
  assert.equal(lstatSync(join(rootfs, 'x/y')).mtimeMs, T1.getTime());
  assert.equal(lstatSync(join(rootfs, 'x')).mode & 0o777, 0o750);
  assert.equal(readFileSync(join(rootfs, 'x/implied'), 'utf8'), 'a file now');
  assert.equal(readFileSync(join(rootfs, 'x/twice'), 'utf8'), 'two');
});

test('a GNU sparse entry is refused rather than written wrong', async (t) => {
  const { base, rootfs } = makeTempRoot(t);
  const tree = join(base, 'sparse');
  mkdirSync(tree);
  execFileSync('truncate', ['-s', '1M', join(tree, 'holes')]);
  execFileSync('tar', ['--format=gnu', '--sparse', '-C', tree, '-cf', join(base, 'sparse.tar'), 'holes']);
  await assert.rejects(applyLayer(rootfs, createReadStream(join(base, 'sparse.tar'))), { code: 'LAYER_UNSUPPORTED_ENTRY' });
});
