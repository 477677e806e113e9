/** The walk snapshotter on temp dirs: kaniko's snapshot modes, ignore paths, symlinked dirs, hardlinks, chaining. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore } from '../../../src/image/blob-store.ts';
import { writeLayer } from '../../../src/fs/layer-writer.ts';
import type { TarEntry } from '../../../src/fs/tar-entry.ts';
import { diffSnapshots, takeSnapshot, type SnapshotMode } from '../../../src/fs/snapshot/index.ts';
import { unmet } from '../../env/requirements.ts';

const isRoot = process.geteuid?.() === 0;
const hasSetcap = spawnSync('sh', ['-c', 'command -v setcap && command -v getfattr']).status === 0;

function tempRoot(t: TestContext): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'kiln-snap-walk-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function sh(cwd: string, script: string): void {
  execFileSync('sh', ['-ec', script], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

function summary(entries: TarEntry[]): string[] {
  return entries.map((e) => `${e.path}:${e.type}${e.linkname ? `->${e.linkname}` : ''}${e.xattrs ? '+xattrs' : ''}`);
}

/** Layer summary of `change` in each mode, on a fresh copy of the same base tree. */
function layersByMode(t: TestContext, base: string, change: string): Record<SnapshotMode, string[]> {
  const out = {} as Record<SnapshotMode, string[]>;
  for (const mode of ['time', 'redo', 'full'] as const) {
    const root = tempRoot(t);
    sh(root, base);
    const before = takeSnapshot(root, { content: mode === 'full' });
    sh(root, change);
    out[mode] = summary(diffSnapshots(before, root, { mode }).entries);
  }
  return out;
}

const BASE = 'echo aaaa > f && echo keep > g && mkdir d && find . -exec touch -h -d @1500000000 {} +';

test('time mode sees mtimes only; redo sees mode and size; full sees content behind a restored mtime', (t) => {
  assert.deepEqual(layersByMode(t, BASE, 'chmod 600 f'), { time: [], redo: ['f:file'], full: ['f:file'] });
  assert.deepEqual(layersByMode(t, BASE, 'echo bbbbbb > f && touch -d @1500000000 f'), { time: [], redo: ['f:file'], full: ['f:file'] });
  // Same size, same mtime, same inode: only the content (found through the moved ctime) tells.
  assert.deepEqual(layersByMode(t, BASE, 'printf bbbb"\\n" > f && touch -d @1500000000 f'), { time: [], redo: [], full: ['f:file'] });
  assert.deepEqual(layersByMode(t, BASE, 'echo more >> g'), { time: ['g:file'], redo: ['g:file'], full: ['g:file'] });
  // A file replaced by rename keeps size and (here) mtime but not its inode.
  assert.deepEqual(layersByMode(t, BASE, 'cp -p g g.new && mv g.new g'), { time: [], redo: ['g:file'], full: ['g:file'] });
  // Directory mtimes are no change: a file created and removed again leaves nothing.
  assert.deepEqual(layersByMode(t, BASE, 'touch d/tmp && rm d/tmp'), { time: [], redo: [], full: [] });
  assert.deepEqual(layersByMode(t, BASE, 'chmod 700 d'), { time: [], redo: ['d:dir'], full: ['d:dir'] });
});

test('file capabilities: found in mode full (ctime + xattrs), missed by redo like kaniko', { skip: unmet((!isRoot || !hasSetcap) && 'needs root and setcap') }, (t) => {
  assert.deepEqual(layersByMode(t, BASE, 'setcap cap_net_raw+ep f'), { time: [], redo: [], full: ['f:file+xattrs'] });
});

test('ignored paths are neither walked, emitted nor whited out', (t) => {
  const root = tempRoot(t);
  sh(root, 'mkdir -p proc/1 kiln/cache mnt/vol etc && echo x > proc/1/stat && echo c > kiln/cache/c && echo v > mnt/vol/v');
  const before = takeSnapshot(root, { ignorePaths: ['/proc', 'kiln/', '/mnt/vol'] });
  assert.equal(before.index.has('proc'), false);
  assert.equal(before.index.has('mnt'), true);
  assert.equal(before.index.has('mnt/vol'), false);
  sh(root, 'rm -rf proc/1 kiln/cache && echo n > mnt/vol/new && echo e > etc/e');
  const result = diffSnapshots(before, root, { mode: 'redo' });
  assert.deepEqual(summary(result.entries), ['etc:dir', 'etc/e:file']);
});

test('symlinks to directories are recorded, never followed', (t) => {
  const root = tempRoot(t);
  const outside = tempRoot(t);
  fs.symlinkSync(outside, join(root, 'host'));
  fs.symlinkSync('/', join(root, 'slash'));
  const before = takeSnapshot(root, { content: true });
  assert.deepEqual(before.paths, ['host', 'slash']);
  fs.writeFileSync(join(outside, 'new'), 'x');
  assert.deepEqual(diffSnapshots(before, root, { mode: 'full' }).entries, []);
  fs.unlinkSync(join(root, 'host'));
  fs.symlinkSync('elsewhere', join(root, 'host'));
  assert.deepEqual(summary(diffSnapshots(before, root, { mode: 'redo' }).entries), ['host:symlink->elsewhere']);
});

test('a directory replaced by a file, and a file by a directory, leave no stale whiteouts', (t) => {
  const root = tempRoot(t);
  sh(root, 'mkdir -p a/b && echo 1 > a/b/c && echo 2 > a/d && echo f > f');
  const before = takeSnapshot(root);
  sh(root, 'rm -rf a && ln -s f a && rm f && mkdir -p f/x && echo y > f/x/y');
  const result = diffSnapshots(before, root, { mode: 'redo' });
  assert.deepEqual(summary(result.entries), ['a:symlink->f', 'f:dir', 'f/x:dir', 'f/x/y:file']);
  assert.deepEqual(result.changedPaths, ['a', 'f', 'f/x', 'f/x/y']);
});

test('files sharing an inode become one file and tar hardlinks; the layer writer accepts them', async (t) => {
  const root = tempRoot(t);
  sh(root, 'mkdir z && echo old > z/old');
  assert.throws(() => diffSnapshots(takeSnapshot(root), root, { mode: 'full' }), /content: true/);
  const before = takeSnapshot(root, { content: true });
  sh(root, 'echo n > z/b && ln z/b a && ln z/b z/c && ln z/old z/new-name-for-old');
  const result = diffSnapshots(before, root, { mode: 'full' });
  assert.deepEqual(summary(result.entries), ['a:file', 'z:dir', 'z/b:hardlink->a', 'z/c:hardlink->a', 'z/new-name-for-old:file']);
  const store = new BlobStore(join(tempRoot(t), 'store'));
  const layer = await writeLayer(result.entries, { store, compression: 'none', reproducible: true });
  const listing = execFileSync('tar', ['-tvf', store.blobPath(await layer.digest())], { encoding: 'utf8' });
  assert.match(listing, /z\/b link to a/);
});

test('the result snapshot is the next step\'s before (mode full keeps hashes for it)', (t) => {
  const root = tempRoot(t);
  sh(root, BASE);
  const first = takeSnapshot(root, { content: true });
  sh(root, 'echo one > one');
  const step1 = diffSnapshots(first, root, { mode: 'full' });
  assert.deepEqual(step1.changedPaths, ['one']);
  assert.ok(step1.snapshot.hashes?.size === 3, 'every regular file hashed');
  sh(root, 'echo two > two && rm one && printf cccc"\\n" > f && touch -d @1500000000 f');
  const step2 = diffSnapshots(step1.snapshot, root, { mode: 'full' });
  assert.deepEqual(summary(step2.entries), ['.wh.one:file', 'f:file', 'two:file']);
  const step3 = diffSnapshots(step2.snapshot, root, { mode: 'full' });
  assert.deepEqual(step3.entries, [], 'nothing changed since');
});
