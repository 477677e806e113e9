import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { isKilnError } from '../../../src/errors.ts';
import { writeLayer } from '../../../src/fs/layer-writer.ts';
import { BlobStore } from '../../../src/image/blob-store.ts';
import { sha256Digest } from '../../../src/image/digest.ts';
import { appendEmptyLayerHistory, appendLayers, formatTime, setConfig, setConfigFile, setCreatedAt, setMediaTypes, setPlatform } from '../../../src/image/mutate.ts';
import { scratchImage } from '../../../src/image/scratch.ts';
import { MediaType } from '../../../src/image/types.ts';

function store(t: { after: (fn: () => void) => void }): BlobStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-mutate-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return new BlobStore(dir);
}

test('scratch: empty rootfs, platform in the config', async () => {
  const img = scratchImage({ os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.equal((await img.rawConfigFile()).toString(), '{"architecture":"arm","config":{},"os":"linux","rootfs":{"type":"layers","diff_ids":[]},"variant":"v7"}');
  const m = await img.manifest();
  assert.equal(m.mediaType, MediaType.ociManifest);
  assert.deepEqual(m.layers, []);
  assert.equal(m.config.digest, sha256Digest(await img.rawConfigFile()));
  assert.equal(await img.digest(), sha256Digest(await img.rawManifest()));
});

test('mutate is pure: inputs keep their digests, outputs reflect every change', async (t) => {
  const s = store(t);
  const base = scratchImage({ os: 'linux', architecture: 'amd64' });
  const baseDigest = await base.digest();
  const layer = await writeLayer([{ path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: Buffer.from('x') }], { store: s });
  const withLayer = appendLayers(base, [{ layer, history: { created_by: 'COPY f /' } }]);
  const configured = setConfig(withLayer, { Env: ['A=1'], Cmd: ['sh'] });
  const dated = setCreatedAt(configured, new Date('2024-05-06T07:08:09Z'), { history: true });
  const meta = appendEmptyLayerHistory(dated, [{ created_by: 'ENV A=1' }]);

  assert.equal(await base.digest(), baseDigest, 'base unchanged');
  assert.deepEqual((await base.configFile()).rootfs.diff_ids, []);
  assert.equal((await withLayer.configFile()).config.Env, undefined, 'earlier view unchanged by setConfig');

  const cf = await meta.configFile();
  assert.deepEqual(cf.rootfs.diff_ids, [layer.info.diffID]);
  assert.deepEqual(cf.config, { Env: ['A=1'], Cmd: ['sh'] });
  assert.equal(cf.created, '2024-05-06T07:08:09Z');
  assert.deepEqual(cf.history, [
    { created: '2024-05-06T07:08:09Z', created_by: 'COPY f /' },
    { created_by: 'ENV A=1', empty_layer: true },
  ]);
  const m = await meta.manifest();
  assert.deepEqual(m.layers, [{ mediaType: MediaType.ociLayerGzip, digest: layer.info.digest, size: layer.info.size }]);

  // Changing a returned config object changes nothing.
  cf.config.Env!.push('B=2');
  assert.deepEqual((await meta.configFile()).config.Env, ['A=1']);
  // Same steps again give the same digest.
  const again = appendEmptyLayerHistory(setCreatedAt(setConfig(appendLayers(base, [{ layer, history: { created_by: 'COPY f /' } }]), { Env: ['A=1'], Cmd: ['sh'] }), new Date('2024-05-06T07:08:09Z'), { history: true }), [{ created_by: 'ENV A=1' }]);
  assert.equal(await again.digest(), await meta.digest());
});

test('media types: docker schema2 renames manifest, config and gzip layers; zstd needs OCI', async (t) => {
  const s = store(t);
  const gz = await writeLayer([{ path: 'a', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 }], { store: s });
  const docker = setMediaTypes(appendLayers(scratchImage(), [{ layer: gz }]), 'docker');
  const m = await docker.manifest();
  assert.equal(m.mediaType, MediaType.dockerManifest);
  assert.equal(m.config.mediaType, MediaType.dockerConfig);
  assert.equal(m.layers[0].mediaType, MediaType.dockerLayerGzip);
  assert.equal(m.layers[0].digest, gz.info.digest);
  const zst = await writeLayer([{ path: 'a', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 }], { store: s, compression: 'zstd' });
  await assert.rejects(setMediaTypes(appendLayers(scratchImage(), [{ layer: zst }]), 'docker').manifest(), (e) => isKilnError(e) && e.code === 'ZSTD_NEEDS_OCI');
  const back = setMediaTypes(docker, 'oci');
  assert.equal((await back.manifest()).layers[0].mediaType, MediaType.ociLayerGzip);
});

test('setConfigFile checks diff_ids; setPlatform; formatTime', async () => {
  const base = scratchImage({ os: 'linux', architecture: 'amd64' });
  await assert.rejects(
    setConfigFile(base, { os: 'linux', architecture: 'amd64', config: {}, rootfs: { type: 'layers', diff_ids: [sha256Digest('x')] } }).configFile(),
    (e) => isKilnError(e) && e.code === 'CONFIG_LAYER_MISMATCH',
  );
  const arm = await setPlatform(base, { os: 'linux', architecture: 'arm64', variant: 'v8' }).configFile();
  assert.equal(arm.architecture, 'arm64');
  assert.equal(formatTime(new Date(0)), '1970-01-01T00:00:00Z');
  assert.equal(formatTime(new Date(1500)), '1970-01-01T00:00:01.500Z');
});
