/** The layer store: unpack once, atomic publish shared by concurrent users, diffID checked, bounded with leases. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKilnError } from '../../../src/errors.ts';
import { LayerStore } from '../../../src/fs/layer-store.ts';
import { dirFlags, onExt4 } from './top-dir-flags.ts';

const skip = process.geteuid?.() === 0 ? false : 'needs root (whiteout devices, trusted.* xattrs)';

function scratch(t: TestContext): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'kiln-layer-store-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A layer tar of `files` (name → content) and its diffID. */
function layer(dir: string, name: string, files: Record<string, string>): { tar: string; diffID: string; open: () => Promise<fs.ReadStream> } {
  const src = join(dir, `src-${name}`);
  for (const [f, content] of Object.entries(files)) {
    fs.mkdirSync(join(src, f, '..'), { recursive: true });
    fs.writeFileSync(join(src, f), content);
  }
  const tar = join(dir, `${name}.tar`);
  execFileSync('tar', ['-C', src, '--numeric-owner', '-cf', tar, '.']);
  const diffID = `sha256:${createHash('sha256').update(fs.readFileSync(tar)).digest('hex')}`;
  return { tar, diffID, open: async () => fs.createReadStream(tar) };
}

test('a layer is unpacked once; a second get (any store instance) reuses it', { skip }, async (t) => {
  const dir = scratch(t);
  const l = layer(dir, 'a', { 'etc/x': 'x', 'bin/y': 'y' });
  const store = new LayerStore({ root: join(dir, 'store'), maxBytes: 1 << 30 });
  let opened = 0;
  const open = () => { opened++; return l.open(); };
  const [a, b] = await Promise.all([store.get(l.diffID, open), store.get(l.diffID, open)]);
  assert.equal(a.dir, b.dir);
  assert.equal(opened, 1);
  const other = new LayerStore({ root: join(dir, 'store'), maxBytes: 1 << 30 });
  const c = await other.get(l.diffID, open);
  assert.equal(c.dir, a.dir);
  assert.equal(opened, 1, 'found in the store, not unpacked again');
  assert.equal(fs.readFileSync(join(a.dir, 'etc/x'), 'utf8'), 'x');
  assert.deepEqual(fs.readdirSync(join(dir, 'store')).filter((n) => n.startsWith('tmp-')), [], 'no unpack left half done');
});

test('the store\'s root is a top directory once it has unpacked a layer, so unpacks spread over the disk', { skip }, async (t) => {
  const dir = scratch(t);
  const l = layer(dir, 'a', { 'etc/x': 'x' });
  const store = new LayerStore({ root: join(dir, 'store'), maxBytes: 1 << 30 });
  if (onExt4(dir)) assert.doesNotMatch(dirFlags(store.root), /T/, 'not before an unpack: warm builds spawn nothing for it');
  await store.get(l.diffID, l.open);
  store.close();
  assert.equal(onExt4(dir) ? /T/.test(dirFlags(store.root)) : false, onExt4(dir));
});

test('two processes unpacking the same layer at once both get the one published dir', { skip }, async (t) => {
  const dir = scratch(t);
  const files: Record<string, string> = {};
  for (let i = 0; i < 300; i++) files[`d${i % 7}/f${i}`] = `content ${i}`;
  const l = layer(dir, 'big', files);
  const script = `import { LayerStore } from ${JSON.stringify(new URL('../../../src/fs/layer-store.ts', import.meta.url).href)};
import fs from 'node:fs';
const s = new LayerStore({ root: process.argv[1], maxBytes: 1 << 30 });
const d = await s.get(process.argv[2], async () => fs.createReadStream(process.argv[3]));
console.log(d.dir); s.close();`;
  const run = () => new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, join(dir, 'store'), l.diffID, l.tar], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}`))));
  });
  const [a, b] = await Promise.all([run(), run()]);
  assert.equal(a, b);
  assert.equal(fs.readdirSync(join(a)).length, 7);
  assert.deepEqual(fs.readdirSync(join(dir, 'store')).filter((n) => n.startsWith('tmp-')), []);
});

test('content that does not match its diffID is refused and nothing is published', { skip }, async (t) => {
  const dir = scratch(t);
  const l = layer(dir, 'a', { f: 'x' });
  const store = new LayerStore({ root: join(dir, 'store'), maxBytes: 1 << 30 });
  const wrong = `sha256:${'0'.repeat(64)}`;
  await assert.rejects(store.get(wrong, l.open), (err: unknown) => isKilnError(err) && err.code === 'LAYER_DIFFID_MISMATCH');
  assert.deepEqual(fs.readdirSync(join(dir, 'store')).filter((n) => n !== 'leases'), []);
});

test('close() evicts least recently used layers above the bound, sparing layers a live build leases', { skip }, async (t) => {
  const dir = scratch(t);
  const root = join(dir, 'store');
  const layers = ['a', 'b', 'c'].map((n) => layer(dir, n, { [`${n}/file`]: n.repeat(20_000) }));
  const first = new LayerStore({ root, maxBytes: 1 << 30 });
  for (const [i, l] of layers.entries()) {
    await first.get(l.diffID, l.open);
    // Distinct last-use times: a is the oldest.
    const meta = join(root, l.diffID.slice(7), 'meta.json');
    fs.utimesSync(meta, new Date(1_000_000 * (i + 1)), new Date(1_000_000 * (i + 1)));
  }
  assert.deepEqual(first.close(), [], 'under the bound nothing goes');

  // Another build still uses a (its lease names it): b, the next oldest, goes instead.
  const holder = new LayerStore({ root, maxBytes: 1 << 30 });
  await holder.get(layers[0].diffID, layers[0].open);
  fs.utimesSync(join(root, layers[0].diffID.slice(7), 'meta.json'), new Date(1_000_000), new Date(1_000_000));
  const size = fs.statSync(layers[0].tar).size;
  const bounded = new LayerStore({ root, maxBytes: 2 * size });
  const garbage = bounded.close();
  assert.equal(garbage.length, 1);
  const kept = fs.readdirSync(root).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();
  assert.deepEqual(kept, [layers[0].diffID.slice(7), layers[2].diffID.slice(7)].sort());
  for (const g of garbage) fs.rmSync(g, { recursive: true, force: true });
  holder.close();
});
