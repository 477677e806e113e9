import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RootDirResolver, cleanPathInRoot, resolveInRoot } from '../../../src/fs/extract/safe-path.ts';

function makeRoot(t: { after: (fn: () => void) => void }): string {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'kiln-safe-path-')));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  mkdirSync(join(root, 'host/etc'), { recursive: true });
  writeFileSync(join(root, 'usr/lib/libc.so'), '');
  symlinkSync('usr/lib', join(root, 'lib'));
  symlinkSync('/host/etc', join(root, 'etc'));
  symlinkSync('../../..', join(root, 'usr/up'));
  symlinkSync('/', join(root, 'slash'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('/loop1', join(root, 'loop2'));
  symlinkSync('libc.so', join(root, 'usr/lib/libc.so.6'));
  return root;
}

test('cleanPathInRoot stops .. at the root', () => {
  assert.deepEqual(cleanPathInRoot('../../etc/x'), ['etc', 'x']);
  assert.deepEqual(cleanPathInRoot('/a/./b/../c/'), ['a', 'c']);
  assert.deepEqual(cleanPathInRoot('./'), []);
  assert.deepEqual(cleanPathInRoot('a/../../..'), []);
});

test('resolveInRoot follows symlinks within the root', (t) => {
  const root = makeRoot(t);
  const follow = { followFinal: true };
  assert.equal(resolveInRoot(root, '/etc/passwd', follow), join(root, 'host/etc/passwd'), 'absolute link restarts at the root');
  assert.equal(resolveInRoot(root, 'lib/libc.so.6', follow), join(root, 'usr/lib/libc.so'));
  assert.equal(resolveInRoot(root, 'lib/libc.so.6', { followFinal: false }), join(root, 'usr/lib/libc.so.6'));
  assert.equal(resolveInRoot(root, 'usr/up/etc', follow), join(root, 'host/etc'), 'a link climbing out stops at the root');
  assert.equal(resolveInRoot(root, '../../../../usr', follow), join(root, 'usr'));
  assert.equal(resolveInRoot(root, '/slash/slash/usr/lib', follow), join(root, 'usr/lib'));
  assert.equal(resolveInRoot(root, 'missing/../lib', { followFinal: false }), join(root, 'lib'));
  assert.equal(resolveInRoot(root, 'lib/../etc', { followFinal: false }), join(root, 'usr/etc'), '.. applies after resolving lib');
  assert.equal(resolveInRoot(root, 'nothing/here', follow), join(root, 'nothing/here'));
  assert.equal(resolveInRoot(root, '/', follow), root);
  assert.equal(resolveInRoot(root, 'slash', follow), root);
});

test('resolveInRoot fails on symlink loops', (t) => {
  const root = makeRoot(t);
  assert.throws(() => resolveInRoot(root, 'loop1/x', { followFinal: true }), { code: 'LAYER_UNSAFE_PATH' });
  assert.equal(resolveInRoot(root, 'loop1', { followFinal: false }), join(root, 'loop1'));
});

test('RootDirResolver creates missing parents inside the root and forgets on demand', (t) => {
  const root = makeRoot(t);
  const resolver = new RootDirResolver(root);
  assert.equal(resolver.ensureDir(['etc', 'apt']), join(root, 'host/etc/apt'));
  assert.equal(resolver.ensureDir(['etc', 'apt']), join(root, 'host/etc/apt'), 'remembered');
  assert.equal(resolver.findDir(['lib']), join(root, 'usr/lib'));
  assert.equal(resolver.findDir(['nope']), undefined);
  assert.throws(() => resolver.ensureDir(['usr', 'lib', 'libc.so', 'x']), { code: 'LAYER_INVALID' });
  rmSync(join(root, 'etc'));
  symlinkSync('/usr', join(root, 'etc'));
  assert.equal(resolver.findDir(['etc', 'apt']), join(root, 'host/etc/apt'), 'stale until forgotten');
  resolver.forget();
  assert.equal(resolver.findDir(['etc', 'apt']), undefined);
  assert.equal(resolver.findDir(['etc', 'lib']), join(root, 'usr/lib'));
});
