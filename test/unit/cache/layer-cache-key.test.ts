/** What a step's cache key sees of files (tree-digest.ts) and how the OCI layout writer shares a layout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { treeDigest } from '../../../src/cache/tree-digest.ts';
import { cacheTag, entryImage, entryLayer } from '../../../src/cache/layer-cache.ts';
import { writeOciLayout } from '../../../src/image/oci-layout-write.ts';
import { ociLayoutImage } from '../../../src/image/oci-layout.ts';
import { appendLayers, setCreatedAt } from '../../../src/image/mutate.ts';
import { scratchImage } from '../../../src/image/scratch.ts';
import { BlobStore } from '../../../src/image/blob-store.ts';
import { writeLayer } from '../../../src/fs/layer-writer.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-key-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a tree digest covers paths, content, modes and link targets, never times; ignored files do not count', (t) => {
  const root = tempDir(t);
  fs.mkdirSync(path.join(root, 'src/sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'src/a.txt'), 'a');
  fs.writeFileSync(path.join(root, 'src/sub/b.txt'), 'b');
  fs.writeFileSync(path.join(root, 'src/ignored.log'), 'x');
  fs.symlinkSync('a.txt', path.join(root, 'src/link'));
  const ignore = { isIgnored: (rel: string) => rel.endsWith('.log') };
  const digest = () => treeDigest(root, [path.join(root, 'src')], ignore);
  const first = digest();
  assert.match(first, /^sha256:[0-9a-f]{64}$/);
  fs.utimesSync(path.join(root, 'src/a.txt'), new Date(0), new Date(0));
  fs.writeFileSync(path.join(root, 'src/ignored.log'), 'changed');
  assert.equal(digest(), first, 'times and ignored files do not count');
  const changes: Array<[string, () => void]> = [
    ['content', () => fs.writeFileSync(path.join(root, 'src/sub/b.txt'), 'B')],
    ['mode', () => fs.chmodSync(path.join(root, 'src/a.txt'), 0o600)],
    ['link target', () => { fs.rmSync(path.join(root, 'src/link')); fs.symlinkSync('sub/b.txt', path.join(root, 'src/link')); }],
    ['new file', () => fs.writeFileSync(path.join(root, 'src/sub/c.txt'), '')],
    ['rename', () => fs.renameSync(path.join(root, 'src/sub/c.txt'), path.join(root, 'src/sub/d.txt'))],
  ];
  const seen = new Set([first]);
  for (const [what, change] of changes) {
    change();
    const next = digest();
    assert.ok(!seen.has(next), what);
    seen.add(next);
  }
  assert.notEqual(treeDigest(root, [path.join(root, 'missing')]), treeDigest(root, [path.join(root, 'other-missing')]));
});

async function oneLayerImage(store: BlobStore, text: string) {
  const layer = await writeLayer([{ path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: Buffer.from(text) }], { store });
  return appendLayers(scratchImage({ os: 'linux', architecture: 'amd64' }), [{ layer }]);
}

test('writers sharing one layout at once lose no entry (index.json under its lock)', async (t) => {
  const dir = tempDir(t);
  const store = new BlobStore(path.join(dir, 'blobs-src'));
  const layout = path.join(dir, 'layout');
  const images = await Promise.all(Array.from({ length: 12 }, (_, i) => oneLayerImage(store, `image ${i}`)));
  await Promise.all(images.map((image, i) => writeOciLayout(layout, image, { refName: `r${i}` })));
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
  assert.deepEqual(index.manifests.map((d: { annotations: Record<string, string> }) => d.annotations['org.opencontainers.image.ref.name']).sort(),
    Array.from({ length: 12 }, (_, i) => `r${i}`).sort());
  assert.ok(!fs.existsSync(path.join(layout, 'index.json.lock')));
  // A lock left by a writer that died is broken once stale.
  fs.writeFileSync(path.join(layout, 'index.json.lock'), '999999\n');
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(path.join(layout, 'index.json.lock'), old, old);
  await writeOciLayout(layout, images[0], { refName: 'after-stale-lock' });
  assert.equal(await (await ociLayoutImage(layout, { refName: 'after-stale-lock' })).digest(), await images[0].digest());
});

test('a cache entry is a one-layer image; its created time decides expiry', async (t) => {
  const dir = tempDir(t);
  const image = await oneLayerImage(new BlobStore(dir), 'x');
  const [layer] = await image.layers();
  const entry = entryImage({ layer, history: { created_by: 'RUN x' }, platform: { os: 'linux', architecture: 'amd64' } }, new Date(Date.now() - 10_000));
  assert.equal((await entryLayer(entry, 60_000)) !== 'expired', true);
  assert.equal(await entryLayer(entry, 1_000), 'expired');
  assert.equal((await entry.configFile()).history?.[0].created_by, 'RUN x');
  const twoLayers = setCreatedAt(appendLayers(image, [{ layer }]), new Date());
  await assert.rejects(entryLayer(twoLayers, 60_000), /one layer/);
  assert.equal(cacheTag(`sha256:${'a'.repeat(64)}`), 'a'.repeat(64));
});

test('RUN keys: bind-mounted context content and the environment count, a secret only by its id, a line moved by a comment misses nothing', async (t) => {
  const { loadDockerfile, expandInstruction, initialStageVars } = await import('../../../src/dockerfile/index.ts');
  const { stepKey } = await import('../../../src/builder/cache-key.ts');
  const { emptyConfig } = await import('../../../src/builder/base-image.ts');
  const ctx = tempDir(t);
  fs.mkdirSync(path.join(ctx, 'src'));
  fs.writeFileSync(path.join(ctx, 'src/main.c'), 'int main() {}');
  const keyOf = async (text: string, env: Record<string, string> = {}) => {
    const stage = loadDockerfile(text).stages[0];
    const platform = { os: 'linux', architecture: 'amd64' };
    const state = { stage, platform, config: emptyConfig(platform), layers: [], vars: initialStageVars(Object.entries(env).map(([k, v]) => `${k}=${v}`)), cmdSet: false };
    const inst = expandInstruction(stage.instructions[0], state.vars.env);
    return stepKey('sha256:parent', inst, state, { contextRoot: ctx, isContextPathIncluded: () => true, sourceState: () => { throw new Error('no stages'); } });
  };
  const run = 'FROM scratch\nRUN --mount=type=bind,source=src,target=/src --mount=type=secret,id=token make\n';
  const first = await keyOf(run);
  assert.equal(await keyOf(run.replace('FROM scratch\n', 'FROM scratch\n# a comment\n\n')), first);
  fs.writeFileSync(path.join(ctx, 'src/main.c'), 'int main() { return 1; }');
  const changed = await keyOf(run);
  assert.notEqual(changed, first, 'the mounted tree changed');
  assert.notEqual(await keyOf(run, { TOKEN: 'x' }), changed, 'the environment a RUN sees counts');
  assert.notEqual(await keyOf(run.replace('id=token', 'id=other')), changed, 'the secret id is part of the instruction');
});
