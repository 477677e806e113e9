/** The overlay snapshotter on real overlay mounts: mount stubs, ignored trees, whiteout inodes, userxattr, EXDEV merges. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKilnError } from '../../../src/errors.ts';
import type { TarEntry } from '../../../src/fs/tar-entry.ts';
import { applyUpperToLower, overlayUpperEntries } from '../../../src/fs/snapshot/index.ts';
import { unmet } from '../../env/requirements.ts';

const isRoot = process.geteuid?.() === 0;
const hasTools = ['setcap', 'getfattr', 'setfattr', 'unshare'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
const skip = unmet(!isRoot ? 'needs root to mount overlayfs' : !hasTools ? 'needs setcap, getfattr, setfattr and unshare' : false);
const TAG = 'kiln-snap-ov-';

function mountsOf(dir: string): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));
}

interface Dirs {
  root: string;
  lower: string;
  upper: string;
  work: string;
  merged: string;
}

/** Temp dirs; with `tmpfsUpper`, upper and work live on a tmpfs mounted here (another filesystem than lower). */
function dirs(t: TestContext, tmpfsUpper = false): Dirs {
  const root = fs.mkdtempSync(join(tmpdir(), TAG));
  const d = { root, lower: join(root, 'lower'), upper: join(root, 'rw/upper'), work: join(root, 'rw/work'), merged: join(root, 'merged') };
  t.after(() => {
    for (const line of mountsOf(root).reverse()) spawnSync('umount', ['-l', line.split(' ')[4]]);
    assert.deepEqual(mountsOf(root), [], 'no mount left behind');
    fs.rmSync(root, { recursive: true, force: true });
  });
  fs.mkdirSync(d.lower);
  fs.mkdirSync(d.merged);
  fs.mkdirSync(join(root, 'rw'));
  if (tmpfsUpper) execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', join(root, 'rw')]);
  fs.mkdirSync(d.upper);
  fs.mkdirSync(d.work);
  return d;
}

function sh(cwd: string, script: string): void {
  execFileSync('sh', ['-ec', script], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Runs `script` in the merged dir of an overlay over d.lower, then unmounts. */
function runStep(d: Dirs, script: string, extraOptions = ''): void {
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${d.lower},upperdir=${d.upper},workdir=${d.work}${extraOptions}`, d.merged]);
  try {
    sh(d.merged, script);
  } finally {
    execFileSync('umount', [d.merged]);
  }
}

function summary(entries: TarEntry[]): string[] {
  return entries.map((e) => `${e.path}:${e.type}${e.linkname ? `->${e.linkname}` : ''}`);
}

test('mount stubs (exclude) and ignored trees stay out of the layer and out of the merged rootfs', { skip }, (t) => {
  const d = dirs(t);
  sh(d.lower, 'mkdir -p etc proc kiln && echo x > etc/passwd');
  // What a sandbox does: stub files and dirs for its mounts, then the step writes next to and below them.
  runStep(d, 'touch etc/resolv.conf && mkdir -p run/secrets && echo real > run/real && echo s > proc/junk && mkdir kiln/state && echo y >> etc/passwd');
  const options = { exclude: ['/etc/resolv.conf', '/run', '/run/secrets'], ignorePaths: ['/proc', '/kiln'] };
  const result = overlayUpperEntries(d.upper, { lower: d.lower, ...options });
  assert.deepEqual(summary(result.entries), ['etc:dir', 'etc/passwd:file', 'run:dir', 'run/real:file']);
  assert.deepEqual(result.changedPaths, ['etc/passwd', 'run/real']);

  applyUpperToLower(d.upper, d.lower, options);
  assert.equal(fs.existsSync(join(d.lower, 'etc/resolv.conf')), false, 'stub file not merged');
  assert.equal(fs.existsSync(join(d.lower, 'run/secrets')), false, 'stub dir not merged');
  assert.equal(fs.readFileSync(join(d.lower, 'run/real'), 'utf8'), 'real\n');
  assert.equal(fs.readFileSync(join(d.lower, 'etc/passwd'), 'utf8'), 'x\ny\n');
  assert.deepEqual(fs.readdirSync(join(d.lower, 'proc')), [], 'ignored tree not merged');
  assert.deepEqual(fs.readdirSync(d.upper), []);
});

test('whiteouts sharing one inode never become tar hardlinks', { skip }, (t) => {
  const d = dirs(t);
  sh(d.lower, 'mkdir a && echo 1 > a/one && echo 2 > a/two && echo 3 > three');
  runStep(d, 'rm a/one a/two three');
  const one = fs.lstatSync(join(d.upper, 'a/one'));
  const three = fs.lstatSync(join(d.upper, 'three'));
  assert.ok(one.isCharacterDevice() && one.rdev === 0);
  t.diagnostic(`whiteout inodes: ${one.ino} ${three.ino} (nlink ${one.nlink})`);
  const result = overlayUpperEntries(d.upper, { lower: d.lower });
  assert.deepEqual(summary(result.entries), ['.wh.three:file', 'a:dir', 'a/.wh.one:file', 'a/.wh.two:file']);
  assert.ok(result.entries.every((e) => e.type !== 'hardlink' && e.type !== 'char'));
});

test('a whiteout of a path the lower dir never had is dropped; new dirs are opaque but need no whiteouts', { skip }, (t) => {
  const d = dirs(t);
  sh(d.lower, 'mkdir keep && echo k > keep/k');
  // overlayfs leaves a whiteout for a lower-less name only in some sequences; either way nothing may reach the layer.
  runStep(d, 'mkdir fresh && echo a > fresh/a && rm fresh/a && echo b > fresh/b && mkdir keep/new && mv keep/new keep/renamed');
  const result = overlayUpperEntries(d.upper, { lower: d.lower });
  assert.deepEqual(summary(result.entries), ['fresh:dir', 'fresh/b:file', 'keep:dir', 'keep/renamed:dir']);
});

test('below an opaque dir, a dir over a lower dir hides its lower children too, opaque marker or not', { skip }, (t) => {
  const d = dirs(t);
  sh(d.lower, 'mkdir -p top/mid/low && echo 1 > top/one && echo 2 > top/mid/two && echo 3 > top/mid/low/three');
  // Made by hand, as an upper dir may hold them: top is opaque, mid and low below it are not marked.
  sh(d.upper, 'mkdir -p top/mid/low && echo n > top/mid/new && setfattr -n trusted.overlay.opaque -v y top');
  const result = overlayUpperEntries(d.upper, { lower: d.lower });
  assert.deepEqual(summary(result.entries), ['top:dir', 'top/.wh.one:file', 'top/mid:dir', 'top/mid/.wh.two:file',
    'top/mid/low:dir', 'top/mid/low/.wh.three:file', 'top/mid/new:file']);
  // Without the marker nothing of the lower dir is deleted.
  sh(d.upper, 'setfattr -x trusted.overlay.opaque top');
  assert.deepEqual(summary(overlayUpperEntries(d.upper, { lower: d.lower }).entries).filter((e) => e.includes('.wh.')), []);
});

test('user.overlay.opaque (userxattr, in a user namespace) is read like trusted.overlay.opaque', { skip }, (t) => {
  const d = dirs(t);
  sh(d.lower, 'mkdir -p dir/sub && echo 1 > dir/one && echo 2 > dir/sub/two && echo f > gone');
  // A user namespace mapping root to root keeps the files' owners readable from here.
  const script = `mount -t overlay overlay -o lowerdir=${d.lower},upperdir=${d.upper},workdir=${d.work},userxattr ${d.merged}
    cd ${d.merged} && rm -rf dir gone && mkdir dir && echo n > dir/new && cd / && umount ${d.merged}`;
  execFileSync('unshare', ['--user', '--map-user=0', '--map-group=0', '--mount', 'sh', '-ec', script], { stdio: ['ignore', 'ignore', 'inherit'] });
  const xattrs = execFileSync('getfattr', ['--absolute-names', '-h', '-d', '-m', '-', join(d.upper, 'dir')], { encoding: 'utf8' });
  assert.match(xattrs, /user\.overlay\.opaque="y"/);
  const result = overlayUpperEntries(d.upper, { lower: d.lower });
  assert.deepEqual(summary(result.entries), ['.wh.gone:file', 'dir:dir', 'dir/.wh.one:file', 'dir/.wh.sub:file', 'dir/new:file']);
  assert.ok(result.entries.every((e) => !Object.keys(e.xattrs ?? {}).some((k) => k.includes('overlay'))), 'no overlay xattrs in entries');
});

test('applyUpperToLower across filesystems copies with metadata, hardlinks and capabilities', { skip }, (t) => {
  const d = dirs(t, true);
  sh(d.lower, 'mkdir -p bin old/deep && echo o > old/deep/f && echo t > bin/tool && chown 5:6 bin');
  runStep(d, `echo s > bin/su && chmod 4755 bin/su && ln bin/su bin/su2 && setcap cap_net_raw+ep bin/tool
    chown 9:9 bin && rm -rf old && mkdir old && echo n > old/new && ln -s su bin/sh && mkfifo bin/pipe-not && rm bin/pipe-not`);
  const stats = applyUpperToLower(d.upper, d.lower);
  assert.ok(stats.copied > 0, 'rename crossed filesystems, so entries were copied');
  const su = fs.lstatSync(join(d.lower, 'bin/su'));
  assert.equal(su.mode & 0o7777, 0o4755);
  assert.equal(fs.lstatSync(join(d.lower, 'bin/su2')).ino, su.ino, 'hardlink kept');
  assert.equal(fs.readlinkSync(join(d.lower, 'bin/sh')), 'su');
  const bin = fs.lstatSync(join(d.lower, 'bin'));
  assert.equal(`${bin.uid}:${bin.gid}`, '9:9', 'merged dir takes the upper metadata');
  assert.match(execFileSync('getcap', [join(d.lower, 'bin/tool')], { encoding: 'utf8' }), /cap_net_raw[=+]ep/);
  assert.deepEqual(fs.readdirSync(join(d.lower, 'old')), ['new'], 'opaque dir replaced the lower one');
  const left = execFileSync('getfattr', ['--absolute-names', '-R', '-h', '-d', '-m', '-', d.lower], { encoding: 'utf8' });
  assert.doesNotMatch(left, /overlay/);
  assert.deepEqual(fs.readdirSync(d.upper), []);
});

test('an upper dir with redirect_dir renames is refused, not misread', { skip }, (t) => {
  const d = dirs(t);
  sh(d.lower, 'mkdir -p moved && echo m > moved/m');
  runStep(d, 'mv moved elsewhere', ',redirect_dir=on');
  assert.throws(() => overlayUpperEntries(d.upper, { lower: d.lower }), (err) => isKilnError(err) && err.code === 'SNAPSHOT_OVERLAY_UNSUPPORTED');
});
