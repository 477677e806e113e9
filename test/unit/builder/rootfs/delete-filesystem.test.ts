/** kaniko's DeleteFilesystem on a scratch root (never /). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { deleteFilesystem } from '../../../../src/builder/rootfs/delete-filesystem.ts';
import { IgnoreList } from '../../../../src/builder/rootfs/ignore-list.ts';
import { unlessRoot } from '../../../env/requirements.ts';

function tree(t: { after(fn: () => void): void }): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-delete-fs-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const d of ['kaniko/.docker', 'etc', 'usr/bin', 'home/ci/ws/src', 'home/other', 'var/run']) fs.mkdirSync(path.join(root, d), { recursive: true });
  for (const f of ['kaniko/.docker/config.json', 'etc/passwd', 'usr/bin/tool', 'home/ci/ws/src/main.c', 'home/ci/.profile', 'home/other/x', 'var/run/pid', 'top']) {
    fs.writeFileSync(path.join(root, f), f);
  }
  fs.symlinkSync('/kaniko', path.join(root, 'link-to-kaniko'));
  fs.symlinkSync('kaniko', path.join(root, 'home/ci/rel-link'));
  return root;
}

function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      out.push(r);
      const st = fs.lstatSync(path.join(root, r));
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

test('removes everything but ignored paths and the directories holding existing ones; symlinks are removed, never followed', (t) => {
  const root = tree(t);
  const stats = deleteFilesystem(root, new IgnoreList(['/kaniko', '/home/ci/ws', '/var/run', '/etc/mtab', '/usr/missing/deep']));
  assert.deepEqual(listing(root), [
    'home', 'home/ci', 'home/ci/ws', 'home/ci/ws/src', 'home/ci/ws/src/main.c',
    'kaniko', 'kaniko/.docker', 'kaniko/.docker/config.json', 'var', 'var/run', 'var/run/pid',
  ]);
  assert.ok(stats.removed >= 8);
});

test('an empty ignore list empties the root but keeps the root itself', (t) => {
  const root = tree(t);
  deleteFilesystem(root, new IgnoreList([]));
  assert.deepEqual(fs.readdirSync(root), []);
  assert.ok(fs.statSync(root).isDirectory());
});

test('a directory on another device (a mount the list misses) is neither entered nor removed', { skip: unlessRoot('mount') }, (t) => {
  const root = tree(t);
  const mnt = path.join(root, 'usr/bin');
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', mnt], { stdio: 'ignore' }).status, 0);
  try {
    fs.writeFileSync(path.join(mnt, 'on-tmpfs'), 'x');
    deleteFilesystem(root, new IgnoreList([]));
    assert.deepEqual(listing(root), ['usr', 'usr/bin', 'usr/bin/on-tmpfs']);
  } finally {
    // Before the scratch root is removed (t.after): never leave a mount behind.
    spawnSync('umount', [mnt], { stdio: 'ignore' });
  }
  assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(root));
});
