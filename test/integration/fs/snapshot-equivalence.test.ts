/**
 * The overlay snapshotter (real kernel overlayfs, mounted here) and the walk snapshotter must give the same
 * layer for the same change; applyUpperToLower must leave the lower dir as the walked rootfs. Each case runs a
 * shell script once through an overlay mount and once directly in a copy of the same base tree.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore } from '../../../src/image/blob-store.ts';
import { writeLayer } from '../../../src/fs/layer-writer.ts';
import type { TarEntry } from '../../../src/fs/tar-entry.ts';
import { readTreeXattrs } from '../../../src/fs/layer/xattrs.ts';
import { applyUpperToLower, diffSnapshots, overlayUpperEntries, takeSnapshot, type SnapshotResult } from '../../../src/fs/snapshot/index.ts';
import { unmet } from '../../env/requirements.ts';

const isRoot = process.geteuid?.() === 0;
const hasTools = ['setcap', 'getfattr', 'setfattr'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
const skip = unmet(!isRoot ? 'needs root to mount overlayfs' : !hasTools ? 'needs setcap, getfattr and setfattr' : false);

const BASE_TIME = 1500000000;

/** A base rootfs like an extracted image: whole-second mtimes, a few owners, a capability-free binary. */
const BASE = `
set -e
mkdir -p etc usr/bin tree/a/b refill/sub file-parent dir2file/deeper keep proc
echo hello > etc/hosts.conf
printf '#!/bin/sh\\n' > usr/bin/tool && chmod 755 usr/bin/tool
echo x > tree/a/b/c && echo y > tree/a/f
echo 1 > refill/one && echo 2 > refill/two && echo 3 > refill/sub/three
echo f > file2dir
echo z > dir2file/inner && echo q > dir2file/deeper/q
for f in modme chmodme chownme delme capme linkme; do echo "$f" > "$f"; done
echo p > file-parent/twin && ln file-parent/twin file-parent/twin2
chown 7:8 keep
find . -exec touch -h -d @${BASE_TIME} {} +
`;

/** Each change as a shell script, with the layer BuildKit would write for it (entry path:type). */
const CASES: Record<string, { script: string; layer: string[] }> = {
  'new file': { script: 'echo new > etc/new.conf', layer: ['etc:dir', 'etc/new.conf:file'] },
  'modified file': { script: 'echo more >> modme', layer: ['modme:file'] },
  'chmod': { script: 'chmod 600 chmodme', layer: ['chmodme:file'] },
  'chown': { script: 'chown 1234:5678 chownme', layer: ['chownme:file'] },
  'delete file': { script: 'rm delme', layer: ['.wh.delme:file'] },
  'delete dir tree': { script: 'rm -rf tree', layer: ['.wh.tree:file'] },
  'replace dir by file': { script: 'rm -rf dir2file && echo now-a-file > dir2file', layer: ['dir2file:file'] },
  'replace file by dir': { script: 'rm file2dir && mkdir file2dir && echo in > file2dir/in', layer: ['file2dir:dir', 'file2dir/in:file'] },
  'new symlink': { script: 'ln -s ../modme etc/link', layer: ['etc:dir', 'etc/link:symlink->../modme'] },
  // The old name is unchanged: BuildKit writes the new name alone, as a plain file.
  'new hardlink to an existing file': { script: 'ln linkme etc/hard', layer: ['etc:dir', 'etc/hard:file'] },
  'new hardlinked pair': { script: 'echo p > etc/p1 && ln etc/p1 etc/p2', layer: ['etc:dir', 'etc/p1:file', 'etc/p2:hardlink->etc/p1'] },
  'setcap': { script: 'setcap cap_net_raw+ep capme', layer: ['capme:file+xattrs'] },
  // Overlay marks the re-created dir opaque; BuildKit (and we) write a whiteout per deleted child instead.
  'dir emptied and refilled': {
    script: 'rm -rf refill && mkdir refill && echo n > refill/one && mkdir refill/sub && echo m > refill/sub/new',
    layer: ['refill:dir', 'refill/.wh.two:file', 'refill/one:file', 'refill/sub:dir', 'refill/sub/.wh.three:file', 'refill/sub/new:file'],
  },
  'dir contents removed, dir kept': {
    script: 'rm -rf refill/*',
    layer: ['refill:dir', 'refill/.wh.one:file', 'refill/.wh.sub:file', 'refill/.wh.two:file'],
  },
  'chmod of a directory': { script: 'chmod 700 keep', layer: ['keep:dir'] },
  'delete one of two hardlinks': { script: 'rm file-parent/twin2', layer: ['file-parent:dir', 'file-parent/.wh.twin2:file'] },
  'file written and removed again': { script: 'echo tmp > etc/tmpfile && rm etc/tmpfile', layer: [] },
  'owner set to the same owner (overlay copies up)': { script: 'chown 0:0 modme && chmod 644 modme', layer: [] },
};
// The scripts in sequence: their layers interact (refill is refilled, then emptied), so only the count is checked.
CASES['all at once'] = { script: Object.values(CASES).map((c) => c.script).join(' && '), layer: [] };

function sh(cwd: string, script: string): void {
  execFileSync('sh', ['-c', script], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

function overlayMounts(): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('kiln-snap-eq-'));
}

interface Setup {
  base: string;
  walkRoot: string;
  lower: string;
  upper: string;
  work: string;
  merged: string;
}

function setup(t: TestContext): Setup {
  const dir = fs.mkdtempSync(join(tmpdir(), 'kiln-snap-eq-'));
  const s = { base: join(dir, 'base'), walkRoot: join(dir, 'walk'), lower: join(dir, 'lower'), upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(dir, 'merged') };
  t.after(() => {
    for (const line of overlayMounts()) {
      const mountPoint = line.split(' ')[4];
      spawnSync('umount', ['-l', mountPoint]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(overlayMounts(), [], 'no overlay mount left behind');
  });
  for (const d of [s.base, s.upper, s.work, s.merged]) fs.mkdirSync(d);
  sh(s.base, BASE);
  execFileSync('cp', ['-a', s.base, s.walkRoot]);
  execFileSync('cp', ['-a', s.base, s.lower]);
  return s;
}

function runOverlay(s: Setup, script: string): void {
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${s.lower},upperdir=${s.upper},workdir=${s.work}`, s.merged]);
  try {
    sh(s.merged, script);
  } finally {
    execFileSync('umount', [s.merged]);
  }
}

function fileHash(path: string): string {
  return createHash('sha256').update(fs.readFileSync(path)).digest('hex');
}

/** Entries without host paths: what ends up in the tar. */
function describe(entries: TarEntry[]): object[] {
  return entries.map((e) => ({
    path: e.path, type: e.type, mode: e.mode.toString(8), owner: `${e.uid}:${e.gid}`, linkname: e.linkname,
    size: e.size, dev: e.type === 'char' || e.type === 'block' ? `${e.devmajor},${e.devminor}` : undefined,
    xattrs: e.xattrs ? Object.fromEntries(Object.entries(e.xattrs).map(([k, v]) => [k, v.toString('hex')])) : undefined,
    content: e.type === 'file' && e.content && !Buffer.isBuffer(e.content) ? fileHash(e.content.path) : undefined,
  }));
}

async function diffID(entries: TarEntry[], storeDir: string): Promise<string> {
  const layer = await writeLayer(entries, { store: new BlobStore(storeDir), compression: 'none', reproducible: true });
  return layer.diffID();
}

/** A tree as comparable records: metadata, content, link targets, non-overlay xattrs, hardlink groups. */
function listTree(root: string): Record<string, string> {
  const xattrs = readTreeXattrs(root);
  const out: Record<string, string> = {};
  const inodes = new Map<number, string>();
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(rel === '' ? root : join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const abs = join(root, r);
      const st = fs.lstatSync(abs);
      let kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `symlink->${fs.readlinkSync(abs)}` : st.isFile() ? `file:${fileHash(abs)}` : `other:${st.rdev}`;
      if (st.isFile() && st.nlink > 1) {
        const first = inodes.get(st.ino);
        if (first === undefined) inodes.set(st.ino, r);
        else kind += ` linked-to:${first}`;
      }
      const attrs = xattrs.get(r);
      const x = attrs ? Object.entries(attrs).map(([k, v]) => `${k}=${v.toString('hex')}`).join(',') : '';
      // Entries the scripts wrote carry the time of each run; the base tree's times must survive.
      const mtime = st.isDirectory() ? '' : st.mtimeMs === BASE_TIME * 1000 ? ' base-mtime' : ' new-mtime';
      out[r] = `${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}${mtime} ${x}`;
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

function summary(entries: TarEntry[]): string[] {
  return entries.map((e) => `${e.path}:${e.type}${e.type === 'symlink' || e.type === 'hardlink' ? `->${e.linkname}` : ''}${e.xattrs ? '+xattrs' : ''}`);
}

for (const [name, { script, layer }] of Object.entries(CASES)) {
  test(`overlay and walk snapshots agree: ${name}`, { skip }, async (t) => {
    const s = setup(t);
    const before = takeSnapshot(s.walkRoot, { content: true, ignorePaths: ['/proc'] });
    sh(s.walkRoot, script);
    const walked = diffSnapshots(before, s.walkRoot, { mode: 'full' });

    runOverlay(s, script);
    const upperResult: SnapshotResult = overlayUpperEntries(s.upper, { lower: s.lower, ignorePaths: ['/proc'] });

    if (name !== 'all at once') assert.deepEqual(summary(walked.entries), layer);
    assert.deepEqual(describe(upperResult.entries), describe(walked.entries));
    assert.deepEqual(upperResult.changedPaths, walked.changedPaths);
    if (name === 'all at once') assert.ok(walked.entries.length > 20, 'the changes are seen together');
    const storeDir = join(s.base, '..', 'store');
    const overlayDiffID = await diffID(upperResult.entries, storeDir);
    assert.match(overlayDiffID, /^sha256:[0-9a-f]{64}$/);
    assert.equal(overlayDiffID, await diffID(walked.entries, storeDir));

    applyUpperToLower(s.upper, s.lower, { ignorePaths: ['/proc'] });
    assert.deepEqual(fs.readdirSync(s.upper), [], 'upper dir emptied');
    assert.deepEqual(listTree(s.lower), listTree(s.walkRoot), 'lower dir equals the walked rootfs');
    const leftover = [...readTreeXattrs(s.lower, () => true)].filter(([, attrs]) => Object.keys(attrs).some((k) => k.startsWith('trusted.overlay.')));
    assert.deepEqual(leftover, [], 'no overlay xattrs moved into the lower dir');
  });
}
