/** applyLayer with an ignore list (in-place extraction) on a scratch root. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { applyLayer } from '../../../../src/fs/extract/apply-layer.ts';
import { IgnoreList } from '../../../../src/builder/rootfs/ignore-list.ts';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; body?: string; linkname?: string };

async function layer(entries: Entry[]): Promise<Readable> {
  const pack = tar.pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = { name: e.name, type, mode: type === 'directory' ? 0o755 : 0o644, ...(e.linkname ? { linkname: e.linkname } : {}) };
    if (type === 'file') pack.entry(header, e.body ?? e.name);
    else pack.entry(header);
  }
  pack.finalize();
  return pack as unknown as Readable;
}

function scratch(t: { after(fn: () => void): void }): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-protect-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'kaniko/keep'), { recursive: true });
  fs.writeFileSync(path.join(root, 'kaniko/keep/state'), 'mine');
  fs.mkdirSync(path.join(root, 'home/ci/ws'), { recursive: true });
  fs.writeFileSync(path.join(root, 'home/ci/ws/src'), 'workspace');
  return root;
}

const ignore = new IgnoreList(['/kaniko', '/home/ci/ws', '/proc']);
const read = (root: string, rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');

test('entries at or below ignored paths are skipped; directories holding them merge', async (t) => {
  const root = scratch(t);
  const stats = await applyLayer(root, await layer([
    { name: 'kaniko/keep/state', body: 'image' }, { name: 'kaniko/new' }, { name: 'proc', type: 'directory' },
    { name: 'home', type: 'directory' }, { name: 'home/ci', type: 'directory' }, { name: 'home/ci/.profile' },
    { name: 'etc/passwd' },
  ]), { protect: ignore });
  assert.equal(read(root, 'kaniko/keep/state'), 'mine');
  assert.equal(fs.existsSync(path.join(root, 'kaniko/new')), false);
  assert.equal(fs.existsSync(path.join(root, 'proc')), false);
  assert.equal(read(root, 'home/ci/.profile'), 'home/ci/.profile');
  assert.equal(read(root, 'home/ci/ws/src'), 'workspace');
  assert.equal(read(root, 'etc/passwd'), 'etc/passwd');
  assert.equal(stats.skippedEntries, 3);
});

test('nothing replaces a directory holding ignored paths, nor writes through a symlink into one', async (t) => {
  const root = scratch(t);
  await applyLayer(root, await layer([
    { name: 'home', type: 'symlink', linkname: '/elsewhere' }, { name: 'home/ci', body: 'a file over a dir' },
    { name: 'sneaky', type: 'symlink', linkname: '/kaniko' }, { name: 'sneaky/planted' },
    { name: 'hard', type: 'link', linkname: 'kaniko/keep/state' },
  ]), { protect: ignore });
  assert.ok(fs.lstatSync(path.join(root, 'home')).isDirectory());
  assert.equal(read(root, 'home/ci/ws/src'), 'workspace');
  assert.equal(fs.existsSync(path.join(root, 'kaniko/planted')), false);
  assert.equal(fs.existsSync(path.join(root, 'hard')), false);
});

test('whiteouts and opaque dirs spare ignored paths', async (t) => {
  const root = scratch(t);
  fs.writeFileSync(path.join(root, 'home/ci/other'), 'lower');
  await applyLayer(root, await layer([
    { name: '.wh.kaniko' }, { name: 'home/.wh.ci' }, { name: 'home/ci/.wh..wh..opq' },
  ]), { protect: ignore });
  assert.equal(read(root, 'kaniko/keep/state'), 'mine');
  assert.equal(read(root, 'home/ci/ws/src'), 'workspace');
  assert.equal(fs.existsSync(path.join(root, 'home/ci/other')), false, 'the opaque dir hid the rest');
});
