/**
 * COPY into destinations that are, or go through, symlinks (relative, absolute, dangling, with `..` climbing
 * past the root): as BuildKit, the link is followed inside the rootfs, what is missing is created, and the link
 * stays a link. The links come from the base image, and a dangling one survives its own COPY layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { context, kiln, tempDir } from './kiln-process.ts';

function linksContext(t: { after(fn: () => void): void }): string {
  const ctx = context(t, { 'links/real/keep.txt': 'keep\n' });
  fs.symlinkSync('real', path.join(ctx, 'links', 'dirlink'));
  fs.symlinkSync('/real2', path.join(ctx, 'links', 'abslink'));
  fs.symlinkSync('../../real3', path.join(ctx, 'links', 'dotlink'));
  fs.symlinkSync('/nowhere/deep', path.join(ctx, 'links', 'deeplink'));
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY links/ /\n');
  return ctx;
}

function unpack(layout: string, dir: string): string {
  execFileSync('umoci', ['unpack', '--image', layout, dir], { stdio: 'pipe' });
  return path.join(dir, 'rootfs');
}

test('COPY through symlinks of the base follows them inside the rootfs, creates what is missing, keeps the links', async (t) => {
  const out = tempDir(t, 'kiln-out-');
  const base = path.join(out, 'base');
  const made = await kiln(['build', '--context', linksContext(t), '--no-push', '--oci-layout-path', base]);
  assert.equal(made.status, 0, made.stderr);

  const ctx = context(t, {
    'a.txt': 'a\n',
    Dockerfile: [
      'FROM base',
      'COPY a.txt /dirlink/a.txt',
      'COPY a.txt /abslink/sub/a.txt',
      'COPY a.txt /dotlink/b.txt',
      'COPY a.txt /deeplink/',
      '',
    ].join('\n'),
  });
  const layout = path.join(out, 'child');
  const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', layout, '--base-image-source', `base=oci:${base}:latest`]);
  assert.equal(r.status, 0, r.stderr);
  const root = unpack(layout, path.join(out, 'bundle'));
  const link = (p: string) => (fs.lstatSync(path.join(root, p)).isSymbolicLink() ? fs.readlinkSync(path.join(root, p)) : 'not a link');
  assert.equal(link('dirlink'), 'real');
  assert.equal(link('abslink'), '/real2');
  assert.equal(link('dotlink'), '../../real3');
  assert.equal(link('deeplink'), '/nowhere/deep');
  const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');
  assert.equal(read('real/a.txt'), 'a\n');
  assert.equal(read('real/keep.txt'), 'keep\n');
  assert.equal(read('real2/sub/a.txt'), 'a\n');
  assert.equal(read('real3/b.txt'), 'a\n', '.. above the root stays at the root');
  assert.equal(read('nowhere/deep/a.txt'), 'a\n');
});
