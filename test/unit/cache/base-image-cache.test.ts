import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  CACHE_FETCHED_ANNOTATION, CACHE_REFERENCE_ANNOTATION, cacheKey, listCacheEntries, lookupCachedImage, storeCachedImage,
} from '../../../src/cache/base-image-cache.ts';
import { ociBlobPath } from '../../../src/image/oci-layout.ts';
import { scratchImage } from '../../../src/image/scratch.ts';

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };
const HOUR = 3_600_000;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cache-unit-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('cacheKey normalises as Docker does', () => {
  assert.equal(cacheKey('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(cacheKey('127.0.0.1:5000/app:1'), '127.0.0.1:5000/app:1');
});

test('an entry is found by reference and platform, fresh within the TTL, expired after', async (t) => {
  const dir = path.join(tempDir(t), 'cache');
  const fetched = new Date('2025-01-01T00:00:00Z');
  const entry = await storeCachedImage(dir, 'busybox', scratchImage(amd64), fetched);
  assert.equal(entry.reference, 'docker.io/library/busybox:latest');
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
  assert.equal(index.manifests.length, 1);
  assert.equal(index.manifests[0].annotations[CACHE_REFERENCE_ANNOTATION], 'docker.io/library/busybox:latest');
  assert.equal(index.manifests[0].annotations[CACHE_FETCHED_ANNOTATION], '2025-01-01T00:00:00.000Z');
  assert.deepEqual(index.manifests[0].platform, { architecture: 'amd64', os: 'linux' });

  const within = { ttlMs: 2 * HOUR, now: new Date(fetched.getTime() + HOUR) };
  const hit = lookupCachedImage(dir, 'docker.io/library/busybox:latest', amd64, within);
  assert.equal(hit.kind, 'hit');
  if (hit.kind === 'hit') assert.equal(await (await hit.image).digest(), entry.digest);
  assert.deepEqual(lookupCachedImage(dir, 'busybox', arm64, within), { kind: 'miss', reason: 'absent' });
  assert.equal(lookupCachedImage(dir, 'busybox:1.36', amd64, within).kind, 'miss');

  const later = lookupCachedImage(dir, 'busybox', amd64, { ttlMs: 2 * HOUR, now: new Date(fetched.getTime() + 3 * HOUR) });
  assert.equal(later.kind, 'miss');
  assert.equal(later.kind === 'miss' && later.reason, 'expired');
  // A digest reference never expires.
  const byDigest = lookupCachedImage(dir, `busybox@${entry.digest}`, amd64, { ttlMs: 0, now: new Date(fetched.getTime() + 1000 * HOUR) });
  assert.equal(byDigest.kind, 'hit');
});

test('storing again replaces the entry for the same reference and platform only; skopeo reads the layout', async (t) => {
  const dir = path.join(tempDir(t), 'cache');
  await storeCachedImage(dir, 'busybox', scratchImage(amd64), new Date('2025-01-01T00:00:00Z'));
  await storeCachedImage(dir, 'busybox', scratchImage(arm64), new Date('2025-01-01T00:00:00Z'));
  await storeCachedImage(dir, 'other:1', scratchImage(amd64), new Date('2025-01-01T00:00:00Z'));
  const refetched = new Date('2025-02-01T00:00:00Z');
  await storeCachedImage(dir, 'busybox:latest', scratchImage(amd64), refetched);
  const entries = listCacheEntries(dir);
  assert.equal(entries.length, 3);
  const amd = entries.filter((e) => e.reference === 'docker.io/library/busybox:latest' && e.platform?.architecture === 'amd64');
  assert.equal(amd.length, 1);
  assert.equal(amd[0].fetched.getTime(), refetched.getTime());
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${dir}:docker.io/library/other:1`], { encoding: 'utf8' }));
  assert.equal(inspect.Architecture, 'amd64');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['blobs', 'index.json', 'oci-layout'], 'no staging dirs left behind');
});

test('an entry whose blobs are gone is a miss ("incomplete"), and a non-layout dir is refused', async (t) => {
  const root = tempDir(t);
  const dir = path.join(root, 'cache');
  const entry = await storeCachedImage(dir, 'busybox', scratchImage(amd64));
  const manifest = JSON.parse(fs.readFileSync(ociBlobPath(dir, entry.digest), 'utf8'));
  fs.rmSync(ociBlobPath(dir, manifest.config.digest));
  const found = lookupCachedImage(dir, 'busybox', amd64, { ttlMs: HOUR });
  assert.equal(found.kind === 'miss' && found.reason, 'incomplete');

  const notLayout = path.join(root, 'stuff');
  fs.mkdirSync(notLayout);
  fs.writeFileSync(path.join(notLayout, 'file.txt'), 'x');
  await assert.rejects(storeCachedImage(notLayout, 'busybox', scratchImage(amd64)), /is not an OCI image layout/);
  assert.deepEqual(lookupCachedImage(path.join(root, 'missing'), 'busybox', amd64, { ttlMs: HOUR }), { kind: 'miss', reason: 'absent' });
});
