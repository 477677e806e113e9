import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { KilnError } from '../../../src/errors.ts';
import { MediaType } from '../../../src/image/types.ts';
import type { IndexManifest } from '../../../src/image/types.ts';
import { RegistrySession } from '../../../src/registry/session.ts';
import { parseReference } from '../../../src/registry/reference.ts';
import { pushImage } from '../../../src/registry/push.ts';
import { remoteImage, remoteIndex } from '../../../src/registry/pull.ts';
import { inspectImage } from '../../env/base-images.ts';
import { startRegistry } from '../../env/registry.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { optionsFor, putManifest, seedBusybox, sha256, variantImage } from './helpers.ts';

let reg: TestRegistry;
let seededDigest: string;
before(async () => {
  reg = await startRegistry({ mode: 'plain' });
  seededDigest = (await seedBusybox(reg)).digest;
});
after(async () => {
  await reg?.stop();
});

async function drain(stream: NodeJS.ReadableStream): Promise<{ bytes: number; digest: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, digest: `sha256:${hash.digest('hex')}` };
}

test('pull by tag: manifest digest, config and layers match what skopeo sees', async (t) => {
  const opts = optionsFor(reg);
  const session = new RegistrySession(opts);
  t.after(() => session.close());
  const image = await remoteImage(parseReference(`${reg.host}/library/busybox:latest`), opts, { session });
  assert.equal(await image.digest(), seededDigest);
  const inspected = await inspectImage(reg, 'library/busybox:latest');
  assert.equal(inspected.Digest, seededDigest);
  const config = await image.configFile();
  assert.equal(config.architecture, inspected.Architecture);
  const layers = await image.layers();
  assert.deepEqual(await Promise.all(layers.map((l) => l.digest())), inspected.Layers);
  for (const layer of layers) {
    const compressed = await drain(await layer.compressed());
    assert.equal(compressed.digest, await layer.digest());
    assert.equal(compressed.bytes, await layer.size());
    const tar = await drain(await layer.uncompressed());
    assert.equal(tar.digest, await layer.diffID());
  }
});

test('pull by digest gives the same image; a tag+digest reference pulls by digest', async (t) => {
  const opts = optionsFor(reg);
  const session = new RegistrySession(opts);
  t.after(() => session.close());
  const byDigest = await remoteImage(parseReference(`${reg.host}/library/busybox@${seededDigest}`), opts, { session });
  assert.equal(await byDigest.digest(), seededDigest);
  const both = await remoteImage(parseReference(`${reg.host}/library/busybox:no-such-tag@${seededDigest}`), opts, { session });
  assert.equal(await both.digest(), seededDigest);
});

test('a missing tag or repository is IMAGE_NOT_FOUND naming the repository', async (t) => {
  const opts = optionsFor(reg);
  const session = new RegistrySession(opts);
  t.after(() => session.close());
  for (const name of ['library/busybox:nope', 'nothing/here:latest']) {
    await assert.rejects(remoteImage(parseReference(`${reg.host}/${name}`), opts, { session }), (err: unknown) => {
      assert.ok(err instanceof KilnError);
      assert.equal(err.code, 'IMAGE_NOT_FOUND');
      assert.match(err.message, new RegExp(`${reg.host}/${name.split(':')[0]}`));
      return true;
    });
  }
});

test('multi-platform index: the requested platform is selected; unknown platforms list what exists', async (t) => {
  const opts = optionsFor(reg);
  const session = new RegistrySession(opts);
  t.after(() => session.close());
  const amd64 = await remoteImage(parseReference(`${reg.host}/library/busybox:latest`), opts, { session });
  const arm64 = await variantImage(amd64, (c) => ({ ...c, architecture: 'arm64', variant: 'v8' }));
  const armv7 = await variantImage(amd64, (c) => ({ ...c, architecture: 'arm', variant: 'v7' }));
  const pushed = [];
  for (const [img, tag] of [[amd64, 'amd64'], [arm64, 'arm64'], [armv7, 'armv7']] as const) {
    pushed.push((await pushImage(img, [parseReference(`${reg.host}/multi:${tag}`)], opts, { session })).digest);
  }
  const mediaType = await amd64.mediaType();
  const sizes = await Promise.all([amd64, arm64, armv7].map(async (i) => (await i.rawManifest()).length));
  const index: IndexManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      { mediaType, digest: pushed[0], size: sizes[0], platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType, digest: pushed[1], size: sizes[1], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType, digest: pushed[2], size: sizes[2], platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    ],
  };
  const rawIndex = Buffer.from(JSON.stringify(index));
  await putManifest(reg, 'multi', 'latest', MediaType.ociIndex, rawIndex);

  const ref = parseReference(`${reg.host}/multi:latest`);
  const picked = await remoteImage(ref, opts, { session, platform: { os: 'linux', architecture: 'arm64' } });
  assert.equal(await picked.digest(), pushed[1]);
  assert.equal((await picked.configFile()).architecture, 'arm64');
  const arm = await remoteImage(ref, opts, { session, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } });
  assert.equal(await arm.digest(), pushed[2]);
  const idx = await remoteIndex(ref, opts, { session });
  assert.equal(await idx.digest(), sha256(rawIndex));
  assert.equal((await idx.indexManifest()).manifests.length, 3);
  assert.equal(await (await idx.image(pushed[0])).digest(), pushed[0]);
  await assert.rejects(remoteImage(ref, opts, { session, platform: { os: 'linux', architecture: 's390x' } }), (err: unknown) => {
    assert.ok(err instanceof KilnError);
    assert.equal(err.code, 'PLATFORM_NOT_FOUND');
    assert.match(err.hint ?? '', /linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7/);
    return true;
  });
});
