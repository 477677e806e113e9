/**
 * RUN on a stack of layer dirs (the layer store's format) must give the layer and the filesystem that RUN on
 * one materialised rootfs gives: each change runs once through a real overlay over [layer 2, layer 1] unpacked
 * by the store (whiteouts, an opaque dir, a file replaced across layers) and once in a tree the extractor built
 * from the same two layers, walked before and after. The pruned upper dir, stacked on top as the next lower,
 * must show exactly the walked tree.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLayer } from '../../../src/fs/extract/apply-layer.ts';
import { LayerStore } from '../../../src/fs/layer-store.ts';
import { readTreeXattrs } from '../../../src/fs/layer/xattrs.ts';
import { stackedLower, type LayerDir } from '../../../src/fs/snapshot/lower-view.ts';
import { overlayUpperChanges } from '../../../src/fs/snapshot/overlay.ts';
import { pruneUpper } from '../../../src/fs/snapshot/overlay-prune.ts';
import { diffSnapshots, takeSnapshot } from '../../../src/fs/snapshot/index.ts';
import type { TarEntry } from '../../../src/fs/tar-entry.ts';

const isRoot = process.geteuid?.() === 0;
const hasTools = ['getfattr', 'setfattr', 'tar'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
const skip = !isRoot ? 'needs root to mount overlayfs' : !hasTools ? 'needs getfattr, setfattr and tar' : false;
const T = 1500000000;

const LAYER1 = `
mkdir -p etc usr/bin tree/a/b refill/sub opq keep proc
echo hello > etc/hosts.conf && echo x > tree/a/b/c && echo y > tree/a/f
echo 1 > refill/one && echo 2 > refill/two && echo 3 > refill/sub/three
echo o1 > opq/old1 && echo o2 > opq/old2 && echo g > gone && mkdir gonedir && echo g > gonedir/in
for f in modme chmodme delme linkme; do echo "$f" > "$f"; done
echo p > twin && ln twin twin2 && chown 7:8 keep
`;
/** Deletes a file and a dir, makes opq/ opaque, replaces refill/two and adds files. */
const LAYER2 = `
mkdir -p opq refill etc && touch .wh.gone .wh.gonedir opq/.wh..wh..opq && echo n > opq/new
echo two-again > refill/two && echo l2 > etc/l2.conf && echo late > late
`;

const CASES: Record<string, string> = {
  'new file': 'echo new > etc/new.conf',
  'modify a file of the lower layer': 'echo more >> modme && echo more >> refill/two',
  'chmod': 'chmod 600 chmodme',
  'delete files of both layers': 'rm delme late',
  'delete a dir merged from two layers': 'rm -rf refill',
  'empty and refill a merged dir': 'rm -rf refill && mkdir refill && echo n > refill/one',
  'delete in the opaque dir': 'rm opq/new && echo z > opq/other',
  're-create a whited-out name': 'echo back > gone && mkdir gonedir && echo again > gonedir/x',
  'new hardlink to a lower file': 'ln linkme etc/hard',
  'delete one of two hardlinks': 'rm twin2',
  'chmod of a directory': 'chmod 700 keep',
  'mount stubs and ignored trees': 'touch etc/resolv.conf && mkdir -p run/secrets && echo s > proc/junk && echo real > run/real',
};

function sh(cwd: string, script: string): void {
  execFileSync('sh', ['-ec', script], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

function overlayMounts(root: string): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(root));
}

function mountOverlay(root: string, options: string, merged: string): void {
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', options, merged], { cwd: root });
}

function fileHash(path: string): string {
  return createHash('sha256').update(fs.readFileSync(path)).digest('hex');
}

function describe(entries: TarEntry[]): object[] {
  return entries.map((e) => ({
    path: e.path, type: e.type, mode: e.mode.toString(8), owner: `${e.uid}:${e.gid}`, linkname: e.linkname, size: e.size,
    content: e.type === 'file' && e.content && !Buffer.isBuffer(e.content) ? fileHash(e.content.path) : undefined,
  }));
}

/** Comparable records of a tree (metadata, content, symlinks, non-overlay xattrs); times as base or new. */
function listTree(root: string): Record<string, string> {
  const xattrs = readTreeXattrs(root);
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(rel === '' ? root : join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = fs.lstatSync(join(root, r));
      const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `symlink->${fs.readlinkSync(join(root, r))}` : st.isFile() ? `file:${fileHash(join(root, r))}` : `other:${st.rdev}`;
      const x = Object.entries(xattrs.get(r) ?? {}).map(([k, v]) => `${k}=${v.toString('hex')}`).join(',');
      out[r] = `${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? '' : st.mtimeMs === T * 1000 ? 'base-mtime' : 'new-mtime'} ${x}`;
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

interface Setup {
  root: string;
  walkRoot: string;
  layers: LayerDir[];
  store: LayerStore;
}

async function layerTar(root: string, name: string, script: string): Promise<{ tar: string; diffID: string }> {
  const dir = join(root, `src-${name}`);
  fs.mkdirSync(dir);
  sh(dir, `set -e\n${script}\nfind . -exec touch -h -d @${T} {} +`);
  const tar = join(root, `${name}.tar`);
  execFileSync('tar', ['-C', dir, '--numeric-owner', '--xattrs', '-cf', tar, '.']);
  return { tar, diffID: `sha256:${createHash('sha256').update(fs.readFileSync(tar)).digest('hex')}` };
}

async function setup(t: TestContext): Promise<Setup> {
  const root = fs.mkdtempSync(join(tmpdir(), 'kiln-snap-stack-'));
  t.after(() => {
    for (const line of overlayMounts(root).reverse()) spawnSync('umount', ['-l', line.split(' ')[4]]);
    assert.deepEqual(overlayMounts(root), [], 'no overlay mount left behind');
    fs.rmSync(root, { recursive: true, force: true });
  });
  const l1 = await layerTar(root, 'l1', LAYER1);
  const l2 = await layerTar(root, 'l2', LAYER2);
  const walkRoot = join(root, 'walk');
  fs.mkdirSync(walkRoot);
  for (const l of [l1, l2]) await applyLayer(walkRoot, fs.createReadStream(l.tar));
  const store = new LayerStore({ root: join(root, 'store'), maxBytes: 1 << 30 });
  const layers = [
    await store.get(l2.diffID, async () => fs.createReadStream(l2.tar)),
    await store.get(l1.diffID, async () => fs.createReadStream(l1.tar)),
  ];
  for (const d of ['upper', 'work', 'merged', 'work2', 'upper2']) fs.mkdirSync(join(root, d));
  return { root, walkRoot, layers, store };
}

test('the store unpacks whiteouts as char 0/0 devices and opaque dirs with trusted.overlay.opaque', { skip }, async (t) => {
  const s = await setup(t);
  const top = s.layers[0];
  for (const name of ['gone', 'gonedir']) {
    const st = fs.lstatSync(join(top.dir, name));
    assert.ok(st.isCharacterDevice() && st.rdev === 0, `${name} is a whiteout device`);
  }
  assert.deepEqual([...top.opaque], ['opq']);
  assert.equal(readTreeXattrs(top.dir, () => true).get('opq')?.['trusted.overlay.opaque']?.toString(), 'y');
  assert.equal(fs.existsSync(join(top.dir, '.wh.gone')), false, 'no .wh. files in an overlay layer dir');
  const view = stackedLower(s.layers);
  assert.deepEqual(view.names('opq').sort(), ['new']);
  assert.equal(view.lookup('gone'), undefined);
  assert.equal(fs.readFileSync(view.lookup('refill/two')!.path, 'utf8'), 'two-again\n');
  assert.deepEqual(view.names('refill').sort(), ['one', 'sub', 'two']);
});

for (const [name, script] of Object.entries(CASES)) {
  test(`RUN on a stack of store layers gives the walked layer and tree: ${name}`, { skip }, async (t) => {
    const s = await setup(t);
    const ignorePaths = ['/proc'];
    const exclude = ['/etc/resolv.conf', '/run/secrets'];
    const before = takeSnapshot(s.walkRoot, { content: true, ignorePaths });
    sh(s.walkRoot, script);
    // The sandbox keeps stubs out of the rootfs; the walk sees what a materialised rootfs keeps.
    for (const stub of ['etc/resolv.conf', 'run/secrets']) fs.rmSync(join(s.walkRoot, stub), { recursive: true, force: true });
    const walked = diffSnapshots(before, s.walkRoot, { mode: 'full' });

    const lowers = s.layers.map((l) => l.dir).join(':');
    mountOverlay(s.root, `lowerdir=${lowers},upperdir=upper,workdir=work`, join(s.root, 'merged'));
    try {
      sh(join(s.root, 'merged'), script);
    } finally {
      execFileSync('umount', [join(s.root, 'merged')]);
    }
    const upper = join(s.root, 'upper');
    const changes = overlayUpperChanges(upper, { lower: stackedLower(s.layers), exclude, ignorePaths });
    assert.deepEqual(describe(changes.result.entries), describe(walked.entries));
    assert.deepEqual(changes.result.changedPaths, walked.changedPaths);

    // The upper dir becomes the topmost lower: the stack must now show the walked tree.
    pruneUpper(upper, { exclude, ignorePaths });
    mountOverlay(s.root, `lowerdir=upper:${lowers},upperdir=upper2,workdir=work2`, join(s.root, 'merged'));
    try {
      const shown = listTree(join(s.root, 'merged'));
      const expected = listTree(s.walkRoot);
      delete shown.proc; delete expected.proc;
      for (const k of Object.keys(shown)) if (k.startsWith('proc/')) delete shown[k];
      for (const k of Object.keys(expected)) if (k.startsWith('proc/')) delete expected[k];
      assert.deepEqual(shown, expected);
    } finally {
      execFileSync('umount', [join(s.root, 'merged')]);
    }
  });
}
