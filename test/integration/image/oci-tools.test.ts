/**
 * Images written by the layer writer and the OCI layout / docker archive sinks, checked with independent
 * tools: skopeo, umoci, GNU tar, gzip, zstd, getfattr.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { isKilnError } from '../../../src/errors.ts';
import { layerFromDirectory } from '../../../src/fs/layer/directory-entries.ts';
import { writeLayer } from '../../../src/fs/layer-writer.ts';
import { whiteoutEntry } from '../../../src/fs/tar-entry.ts';
import { BlobStore } from '../../../src/image/blob-store.ts';
import { dockerArchiveImage } from '../../../src/image/docker-archive.ts';
import { writeDockerArchive } from '../../../src/image/docker-archive-write.ts';
import { KnownLayer } from '../../../src/image/layer.ts';
import { appendLayers, setConfig, setCreatedAt, setMediaTypes } from '../../../src/image/mutate.ts';
import { ociLayoutImage, readOciLayout } from '../../../src/image/oci-layout.ts';
import { writeOciLayout } from '../../../src/image/oci-layout-write.ts';
import { scratchImage } from '../../../src/image/scratch.ts';
import type { Image } from '../../../src/image/types.ts';
import { unmet } from '../../env/requirements.ts';

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const hasTools = ['skopeo', 'umoci', 'getfattr', 'setfattr', 'setcap'].every((t) => spawnSync('which', [t]).status === 0);
const isRoot = process.getuid?.() === 0;
const toolsMissing = unmet(!hasTools && 'skopeo, umoci, getfattr, setfattr and setcap are needed');

let work: string;
let tree: string;
let store: BlobStore;
let image: Image;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-image-it-'));
  tree = path.join(work, 'tree');
  store = new BlobStore(path.join(work, 'store'));
  fs.mkdirSync(path.join(tree, 'usr/bin'), { recursive: true });
  fs.mkdirSync(path.join(tree, 'tmp'));
  fs.mkdirSync(path.join(tree, 'srv/shared'), { recursive: true });
  fs.chmodSync(path.join(tree, 'tmp'), 0o1777);
  fs.chmodSync(path.join(tree, 'srv/shared'), 0o2775);
  fs.writeFileSync(path.join(tree, 'usr/bin/tool'), '#!/bin/sh\necho tool\n');
  fs.chmodSync(path.join(tree, 'usr/bin/tool'), 0o755);
  fs.linkSync(path.join(tree, 'usr/bin/tool'), path.join(tree, 'usr/bin/tool-alias'));
  fs.symlinkSync('tool', path.join(tree, 'usr/bin/link'));
  fs.symlinkSync('/nonexistent/target', path.join(tree, 'dangling'));
  fs.writeFileSync(path.join(tree, 'srv/shared/data'), Buffer.alloc(300000, 'k'));
  fs.writeFileSync(path.join(tree, 'gone'), 'to be deleted');
  fs.writeFileSync(path.join(tree, 'long-' + 'n'.repeat(150)), 'long name');
  if (isRoot) {
    fs.chownSync(path.join(tree, 'srv/shared/data'), 1000, 1000);
    fs.chownSync(path.join(tree, 'srv/shared'), 300000, 300001);
    fs.writeFileSync(path.join(tree, 'usr/bin/pinger'), 'ELF');
    fs.chmodSync(path.join(tree, 'usr/bin/pinger'), 0o4755);
    if (hasTools) {
      sh('setcap', ['cap_net_raw+ep', path.join(tree, 'usr/bin/pinger')]);
      sh('setfattr', ['-n', 'user.kiln', '-v', 'hello', path.join(tree, 'srv/shared/data')]);
    }
  }
  const l1 = await layerFromDirectory(tree, { store, reproducible: true });
  const l2 = await writeLayer(
    [whiteoutEntry('gone'), { path: 'etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 },
      { path: 'etc/added', type: 'file', mode: 0o640, uid: 0, gid: 42, mtime: 1700000000, content: Buffer.from('second layer\n') }],
    { store, compression: 'none' },
  );
  image = setCreatedAt(
    setConfig(appendLayers(scratchImage({ os: 'linux', architecture: 'amd64' }), [
      { layer: l1, history: { created_by: 'COPY tree /' } },
      { layer: l2, history: { created_by: 'RUN rm /gone' } },
    ]), { Env: ['PATH=/usr/bin'], Cmd: ['/usr/bin/tool'] }),
    new Date('2024-01-02T03:04:05Z'),
    // history entries with times, as BuildKit writes them (umoci 0.4 stat crashes on history without `created`)
    { history: true },
  );
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('OCI layout: skopeo inspects it, umoci unpacks the same tree', { skip: toolsMissing }, async () => {
  const layout = path.join(work, 'layout');
  await writeOciLayout(layout, image, { refName: 'v1' });
  const info = JSON.parse(sh('skopeo', ['inspect', `oci:${layout}:v1`]));
  assert.equal(info.Digest, await image.digest());
  assert.deepEqual(info.Layers, (await image.manifest()).layers.map((l) => l.digest));
  assert.deepEqual(info.Env, ['PATH=/usr/bin']);
  assert.equal(info.Created, '2024-01-02T03:04:05Z');

  const bundle = path.join(work, 'bundle');
  sh('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
  const root = path.join(bundle, 'rootfs');
  assert.ok(!fs.existsSync(path.join(root, 'gone')), 'whiteout removed the file');
  assert.equal(fs.readFileSync(path.join(root, 'etc/added'), 'utf8'), 'second layer\n');
  assert.equal(fs.statSync(path.join(root, 'etc/added')).gid, 42);
  assert.equal(fs.statSync(path.join(root, 'tmp')).mode & 0o7777, 0o1777);
  assert.equal(fs.statSync(path.join(root, 'srv/shared')).mode & 0o7777, 0o2775);
  assert.equal(fs.readlinkSync(path.join(root, 'usr/bin/link')), 'tool');
  assert.equal(fs.readlinkSync(path.join(root, 'dangling')), '/nonexistent/target');
  const a = fs.statSync(path.join(root, 'usr/bin/tool'));
  const b = fs.statSync(path.join(root, 'usr/bin/tool-alias'));
  assert.equal(a.ino, b.ino, 'hardlink preserved');
  assert.equal(a.mode & 0o7777, 0o755);
  assert.equal(fs.readFileSync(path.join(root, 'long-' + 'n'.repeat(150)), 'utf8'), 'long name');
  if (isRoot) {
    const shared = fs.statSync(path.join(root, 'srv/shared'));
    assert.deepEqual([shared.uid, shared.gid], [300000, 300001], 'ids above 262143 survive');
    assert.equal(fs.statSync(path.join(root, 'srv/shared/data')).uid, 1000);
    assert.equal(fs.statSync(path.join(root, 'usr/bin/pinger')).mode & 0o7777, 0o4755);
    assert.match(sh('getcap', [path.join(root, 'usr/bin/pinger')]), /cap_net_raw[=+]ep/);
    assert.match(sh('getfattr', ['-n', 'user.kiln', path.join(root, 'srv/shared/data')]), /user\.kiln="hello"/);
  }
});

test('OCI layout: adding images keeps the others; read back by name, digest and platform', { skip: toolsMissing }, async () => {
  const layout = path.join(work, 'multi');
  await writeOciLayout(layout, image, { refName: 'app' });
  const docker = setMediaTypes(image, 'docker');
  await writeOciLayout(layout, docker, { refName: 'app-docker' });
  await writeOciLayout(layout, scratchImage({ os: 'linux', architecture: 'amd64' }), { refName: 'empty' });
  const index = await readOciLayout(layout).indexManifest();
  assert.deepEqual(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']), ['app', 'app-docker', 'empty']);
  assert.equal(JSON.parse(sh('skopeo', ['inspect', `oci:${layout}:app`])).Digest, await image.digest());
  // (skopeo 1.9's oci: transport skips index entries with Docker media types, so only our reader sees this one)
  assert.equal(await (await ociLayoutImage(layout, { refName: 'app-docker' })).digest(), await docker.digest());
  assert.equal(await (await ociLayoutImage(layout, { digest: await image.digest() })).digest(), await image.digest());
  await assert.rejects(ociLayoutImage(layout), (e) => isKilnError(e) && e.code === 'AMBIGUOUS_IMAGE');
  // Replacing a name keeps one entry for it.
  await writeOciLayout(layout, scratchImage({ os: 'linux', architecture: 'arm64' }), { refName: 'empty' });
  const again = await readOciLayout(layout).indexManifest();
  assert.equal(again.manifests.length, 3);
  const arm = await ociLayoutImage(layout, { refName: 'empty', platform: { os: 'linux', architecture: 'arm64' } });
  assert.equal((await arm.configFile()).architecture, 'arm64');
  sh('umoci', ['stat', '--image', `${layout}:app`]);
});

test('layer blobs are plain tarballs: tar -xf after gunzip / zstd -d gives the tree', { skip: toolsMissing }, async () => {
  for (const compression of ['gzip', 'zstd'] as const) {
    const layer = await layerFromDirectory(tree, { store, compression });
    const out = path.join(work, `x-${compression}`);
    fs.mkdirSync(out);
    const blob = store.blobPath(layer.info.digest);
    const tarFile = path.join(work, `layer-${compression}.tar`);
    sh('sh', ['-c', `${compression === 'gzip' ? 'gzip -dc' : 'zstd -dcq'} < '${blob}' > '${tarFile}'`]);
    assert.equal(`sha256:${sh('sha256sum', [tarFile]).split(' ')[0]}`, layer.info.diffID);
    sh('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', tarFile, '-C', out]);
    assert.equal(fs.readFileSync(path.join(out, 'usr/bin/tool'), 'utf8'), '#!/bin/sh\necho tool\n');
    assert.equal(fs.statSync(path.join(out, 'usr/bin/tool')).ino, fs.statSync(path.join(out, 'usr/bin/tool-alias')).ino);
    assert.equal(fs.readlinkSync(path.join(out, 'usr/bin/link')), 'tool');
    assert.equal(fs.statSync(path.join(out, 'srv/shared/data')).size, 300000);
    if (isRoot) assert.equal(fs.statSync(path.join(out, 'srv/shared')).uid, 300000);
  }
});

test('docker archive: skopeo reads it, tar lists it, it reads back with the same digest', { skip: toolsMissing }, async () => {
  const file = path.join(work, 'image.tar');
  await writeDockerArchive(file, image, { tags: ['kiln/test:1.0', 'localhost:5000/app'] });
  const listing = sh('tar', ['-tvf', file]);
  for (const name of ['manifest.json', 'repositories', 'index.json', 'oci-layout']) assert.match(listing, new RegExp(` ${name}\\n`));
  const manifest = JSON.parse(sh('tar', ['-xOf', file, 'manifest.json']));
  assert.deepEqual(manifest[0].RepoTags, ['kiln/test:1.0', 'localhost:5000/app:latest']);
  const info = JSON.parse(sh('skopeo', ['inspect', `docker-archive:${file}:kiln/test:1.0`]));
  assert.deepEqual(info.Env, ['PATH=/usr/bin']);
  const config = await image.configFile();
  assert.equal(info.Layers.length, config.rootfs.diff_ids.length);
  // containers/image (podman's loader) copies it into an OCI layout.
  sh('skopeo', ['copy', '-q', `docker-archive:${file}:localhost:5000/app:latest`, `oci:${path.join(work, 'from-archive')}:x`]);
  assert.deepEqual((await (await ociLayoutImage(path.join(work, 'from-archive'))).configFile()).rootfs.diff_ids, config.rootfs.diff_ids);
  const back = dockerArchiveImage(file, { tag: 'kiln/test:1.0' });
  assert.equal(await back.digest(), await image.digest());
  const layers = await back.layers();
  assert.equal(await layers[1].diffID(), config.rootfs.diff_ids[1]);
  // The same image twice gives the same bytes.
  const file2 = path.join(work, 'image2.tar');
  await writeDockerArchive(file2, image, { tags: ['kiln/test:1.0', 'localhost:5000/app'] });
  assert.ok(fs.readFileSync(file).equals(fs.readFileSync(file2)));
});

test('a legacy docker save tarball (id/layer.tar) reads as an image', { skip: toolsMissing }, async () => {
  const file = path.join(work, 'legacy.tar');
  // skopeo writes the pre-25 docker save layout
  sh('skopeo', ['copy', '-q', `oci:${path.join(work, 'layout')}:v1`, `docker-archive:${file}:legacy:1`]);
  const img = dockerArchiveImage(file);
  const config = await img.configFile();
  assert.deepEqual(config.rootfs.diff_ids, (await image.configFile()).rootfs.diff_ids);
  const layers = await img.layers();
  for (let i = 0; i < layers.length; i++) {
    const hash = (await import('node:crypto')).createHash('sha256');
    for await (const c of await layers[i].uncompressed()) hash.update(c as Buffer);
    assert.equal(`sha256:${hash.digest('hex')}`, config.rootfs.diff_ids[i]);
  }
});

test('umoci-made layouts read into views', { skip: toolsMissing }, async () => {
  const layout = path.join(work, 'umoci');
  sh('umoci', ['init', '--layout', layout]);
  sh('umoci', ['new', '--image', `${layout}:base`]);
  const bundle = path.join(work, 'umoci-bundle');
  sh('umoci', ['unpack', '--image', `${layout}:base`, bundle]);
  fs.writeFileSync(path.join(bundle, 'rootfs/hello'), 'from umoci\n');
  sh('umoci', ['repack', '--image', `${layout}:base`, bundle]);
  const img = await ociLayoutImage(layout, { refName: 'base' });
  const layers = await img.layers();
  assert.equal(layers.length, 1);
  const out = path.join(work, 'umoci-x');
  fs.mkdirSync(out);
  const tarFile = path.join(work, 'umoci-layer.tar');
  const chunks: Buffer[] = [];
  for await (const c of await layers[0].uncompressed()) chunks.push(c as Buffer);
  fs.writeFileSync(tarFile, Buffer.concat(chunks));
  assert.equal(`sha256:${sh('sha256sum', [tarFile]).split(' ')[0]}`, await layers[0].diffID());
  sh('tar', ['-xf', tarFile, '-C', out]);
  assert.equal(fs.readFileSync(path.join(out, 'hello'), 'utf8'), 'from umoci\n');
  // Re-written by us, still valid for umoci.
  const copy = path.join(work, 'umoci-copy');
  await writeOciLayout(copy, img, { refName: 'copy' });
  sh('umoci', ['stat', '--image', `${copy}:copy`]);
});

test('sinks are atomic: a failing write leaves nothing behind', async () => {
  const badLayer = new KnownLayer(
    { digest: `sha256:${'0'.repeat(64)}`, diffID: `sha256:${'1'.repeat(64)}`, size: 5, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
    () => Readable.from([Buffer.from('wrong')]),
  );
  const broken = appendLayers(scratchImage(), [{ layer: badLayer }]);
  const layout = path.join(work, 'atomic-layout');
  await assert.rejects(writeOciLayout(layout, broken), (e) => isKilnError(e) && e.code === 'DIGEST_MISMATCH');
  assert.ok(!fs.existsSync(layout));
  const archive = path.join(work, 'atomic.tar');
  await assert.rejects(writeDockerArchive(archive, broken, { tags: ['x'] }));
  assert.ok(!fs.existsSync(archive));
  assert.deepEqual(fs.readdirSync(work).filter((n) => n.includes('.tmp-')), []);
  // An existing layout keeps its index when adding fails.
  const existing = path.join(work, 'layout');
  const before = fs.readFileSync(path.join(existing, 'index.json'));
  await assert.rejects(writeOciLayout(existing, broken, { refName: 'broken' }));
  assert.ok(fs.readFileSync(path.join(existing, 'index.json')).equals(before));
});
