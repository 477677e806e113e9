/** When entry.mjs runs the bundle: only while its stamp is newer than every source it was made of. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-expect-error plain JavaScript without declarations (it runs before any .ts module can load)
import { freshBundle } from '../../../src/cli/fresh-bundle.mjs';

const HOUR = 3600_000;
const BUILT = '2026-12-04T21:07:35.795Z';

/** A Kiln directory whose sources are an hour old and whose bundle was stamped `stampAge` ms ago. */
function kilnTree(t: TestContext, stampAge: number | undefined): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-fresh-bundle-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const old = new Date(Date.now() - HOUR);
  for (const file of ['src/cli/main.ts', 'src/sandbox/launcher.pl', 'src/a/b/c.ts']) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), '//\n');
  }
  for (const entry of ['src/cli/main.ts', 'src/sandbox/launcher.pl', 'src/a/b/c.ts', 'src/a/b', 'src/a', 'src/cli', 'src/sandbox', 'src']) {
    fs.utimesSync(path.join(root, entry), old, old);
  }
  if (stampAge !== undefined) {
    fs.mkdirSync(path.join(root, 'dist'));
    fs.writeFileSync(path.join(root, 'dist', 'bundle.json'), JSON.stringify({ built: BUILT, inputs: ['src/cli/main.ts', 'src/a/b/c.ts'] }));
    fs.writeFileSync(path.join(root, 'dist', 'kiln.cjs'), '');
    const at = new Date(Date.now() - stampAge);
    fs.utimesSync(path.join(root, 'dist', 'bundle.json'), at, at);
  }
  return root;
}

const bundleOf = (root: string) => ({ file: path.join(root, 'dist', 'kiln.cjs'), built: BUILT });

test('a bundle stamped after every source is used, named with the time it was built', (t) => {
  const root = kilnTree(t, 60_000);
  assert.deepEqual(freshBundle(root), bundleOf(root));
});

test('a stamp whose bundle file is missing is not used', (t) => {
  const root = kilnTree(t, 60_000);
  fs.rmSync(path.join(root, 'dist', 'kiln.cjs'));
  assert.equal(freshBundle(root), undefined);
});

test('no bundle, or one older than the sources: the sources run', (t) => {
  assert.equal(freshBundle(kilnTree(t, undefined)), undefined);
  assert.equal(freshBundle(kilnTree(t, 2 * HOUR)), undefined);
});

test('an edited source deep in the tree makes the bundle stale', (t) => {
  const root = kilnTree(t, 60_000);
  fs.writeFileSync(path.join(root, 'src/a/b/c.ts'), '// edited\n');
  assert.equal(freshBundle(root), undefined);
});

test('a removed source makes the bundle stale; a file it was not made of does not count', (t) => {
  const removed = kilnTree(t, 60_000);
  fs.rmSync(path.join(removed, 'src/a/b/c.ts'));
  assert.equal(freshBundle(removed), undefined);

  // launcher.pl is read from src/ by the bundle too; a directory's time (an image's COPY dates the one it
  // creates) says nothing about the modules.
  const other = kilnTree(t, 60_000);
  fs.writeFileSync(path.join(other, 'src/sandbox/launcher.pl'), '# edited\n');
  fs.utimesSync(path.join(other, 'src'), new Date(), new Date());
  assert.deepEqual(freshBundle(other), bundleOf(other));
});

test('a stamp without its list of sources, or without the time it was built, is not trusted', (t) => {
  for (const stamp of [{ built: BUILT }, { inputs: ['src/cli/main.ts'] }]) {
    const root = kilnTree(t, 60_000);
    fs.writeFileSync(path.join(root, 'dist', 'bundle.json'), JSON.stringify(stamp));
    const at = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(root, 'dist', 'bundle.json'), at, at);
    assert.equal(freshBundle(root), undefined, JSON.stringify(stamp));
  }
});

test('no src directory: the sources (and their error) run, not a bundle', (t) => {
  const root = kilnTree(t, 60_000);
  fs.rmSync(path.join(root, 'src'), { recursive: true });
  assert.equal(freshBundle(root), undefined);
});
