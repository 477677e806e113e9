import { test } from 'node:test';
import assert from 'node:assert/strict';
import { targetPlatforms } from '../../../src/builder/multi-platform.ts';
import { artifactBlobs, artifactDigest, platformIndex } from '../../../src/image/platform-index.ts';
import { sha256Digest } from '../../../src/image/digest.ts';
import { scratchImage } from '../../../src/image/scratch.ts';

const amd64 = { os: 'linux', architecture: 'amd64' };

test('--custom-platform lists: one platform as before, several in order without repeats, empty entries refused', () => {
  assert.deepEqual(targetPlatforms(undefined, amd64), [amd64]);
  assert.deepEqual(targetPlatforms('linux/arm64', amd64), [{ os: 'linux', architecture: 'arm64' }]);
  assert.deepEqual(targetPlatforms('linux/amd64, linux/arm/v7,linux/x86_64', amd64), [amd64, { os: 'linux', architecture: 'arm', variant: 'v7' }]);
  assert.throws(() => targetPlatforms('linux/amd64,,linux/arm64', amd64), /an empty platform in the list/);
});

test('an index over per-platform images: descriptors with platforms, its digest over its bytes, every blob once', async () => {
  const a = scratchImage(amd64);
  const b = scratchImage({ os: 'linux', architecture: 'arm64' });
  const index = await platformIndex([{ platform: amd64, image: a }, { platform: { os: 'linux', architecture: 'arm64' }, image: b }], { k: 'v' });
  assert.equal(index.digest, sha256Digest(index.raw));
  assert.equal(await artifactDigest(index), index.digest);
  const parsed = JSON.parse(index.raw.toString()) as { manifests: { digest: string; platform: { architecture: string } }[]; annotations: Record<string, string> };
  assert.deepEqual(parsed.manifests.map((m) => [m.digest, m.platform.architecture]), [[await a.digest(), 'amd64'], [await b.digest(), 'arm64']]);
  assert.deepEqual(parsed.annotations, { k: 'v' });
  const blobs = (await artifactBlobs(index)).map((x) => x.digest);
  assert.equal(new Set(blobs).size, blobs.length, 'no blob twice');
  assert.equal(blobs.at(-1), index.digest, 'the index last');
  assert.ok(blobs.includes(await a.digest()) && blobs.includes(await b.digest()));
});
