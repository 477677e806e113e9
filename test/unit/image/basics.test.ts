import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { BlobStore } from '../../../src/image/blob-store.ts';
import { canonicalJson } from '../../../src/image/canonical-json.ts';
import { digestHex, isDigest, sha256Digest } from '../../../src/image/digest.ts';
import { formatPlatform, hostPlatform, parsePlatform, platformMatches, selectPlatform } from '../../../src/image/platform.ts';
import { isKilnError } from '../../../src/errors.ts';

test('sha256 digests', () => {
  assert.equal(sha256Digest(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.ok(isDigest(sha256Digest('x')));
  assert.ok(!isDigest('sha256:ABC'));
  assert.throws(() => digestHex('md5:00'), (e) => isKilnError(e) && e.code === 'INVALID_DIGEST');
});

test('blob store writes atomically and verifies', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-blobs-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = new BlobStore(dir);
  const info = await store.write(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
  assert.equal(info.digest, sha256Digest('hello world'));
  assert.equal(info.size, 11);
  assert.equal(fs.readFileSync(store.blobPath(info.digest), 'utf8'), 'hello world');
  await assert.rejects(store.write(Readable.from([Buffer.from('x')]), sha256Digest('y')), (e) => isKilnError(e) && e.code === 'DIGEST_MISMATCH');
  assert.ok(!store.has(sha256Digest('x')));
  assert.deepEqual(fs.readdirSync(path.join(dir, 'tmp')), [], 'no temp files left behind');
  // The same content again keeps one blob.
  await store.write(Readable.from([Buffer.from('hello world')]));
  assert.deepEqual(fs.readdirSync(path.join(dir, 'sha256')), [digestHex(info.digest)]);
});

test('platforms parse and normalise like containerd', () => {
  assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatform('Linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/armhf'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(parsePlatform('linux/i386'), { os: 'linux', architecture: '386' });
  assert.equal(parsePlatform('arm64', { os: 'linux', architecture: 'amd64' }).os, 'linux');
  assert.equal(parsePlatform('linux', { os: 'linux', architecture: 'amd64' }).architecture, 'amd64');
  assert.equal(formatPlatform(parsePlatform('linux/arm/7')), 'linux/arm/v7');
  assert.throws(() => parsePlatform('linux/amd64/v2/x'), (e) => isKilnError(e) && e.code === 'INVALID_PLATFORM');
  assert.throws(() => parsePlatform(''), (e) => isKilnError(e));
  assert.equal(hostPlatform().os, 'linux');
});

test('platform matching and selection', () => {
  assert.ok(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' }));
  assert.ok(platformMatches(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' }));
  assert.ok(!platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v7' }));
  assert.ok(!platformMatches(parsePlatform('linux/amd64'), { os: 'windows', architecture: 'amd64' }));
  const candidates = [
    { os: 'linux', architecture: 'arm', variant: 'v6' },
    { os: 'linux', architecture: 'arm', variant: 'v7' },
    { os: 'linux', architecture: 'amd64' },
  ];
  assert.equal(selectPlatform(parsePlatform('linux/arm/v7'), candidates), 1);
  assert.equal(selectPlatform(parsePlatform('linux/amd64'), candidates), 2);
  assert.equal(selectPlatform(parsePlatform('linux/s390x'), candidates), -1);
});

test('canonical JSON: stable field order, sorted maps, no HTML escaping', () => {
  const config = {
    rootfs: { diff_ids: [], type: 'layers' },
    os: 'linux',
    history: [{ empty_layer: true, created_by: 'ENV a=<b>&c', created: '2024-01-01T00:00:00Z' }],
    config: { Cmd: ['sh'], Env: ['A=1'], Labels: { z: '1', a: '2' }, User: 'u', Healthcheck: { Retries: 1, Test: ['NONE'] } },
    architecture: 'amd64',
  };
  assert.equal(
    canonicalJson(config, 'config').toString(),
    '{"architecture":"amd64","config":{"User":"u","Env":["A=1"],"Cmd":["sh"],"Labels":{"a":"2","z":"1"},' +
      '"Healthcheck":{"Test":["NONE"],"Retries":1}},"history":[{"created":"2024-01-01T00:00:00Z",' +
      '"created_by":"ENV a=<b>&c","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}',
  );
  const manifest = {
    layers: [{ size: 1, digest: 'sha256:a', mediaType: 'l' }],
    config: { size: 2, digest: 'sha256:c', mediaType: 'c' },
    mediaType: 'm',
    schemaVersion: 2,
  };
  assert.equal(
    canonicalJson(manifest, 'manifest').toString(),
    '{"schemaVersion":2,"mediaType":"m","config":{"mediaType":"c","digest":"sha256:c","size":2},"layers":[{"mediaType":"l","digest":"sha256:a","size":1}]}',
  );
  const index = { manifests: [{ platform: { variant: 'v7', os: 'linux', architecture: 'arm' }, size: 3, digest: 'd', mediaType: 'm' }], schemaVersion: 2 };
  assert.equal(
    canonicalJson(index, 'index').toString(),
    '{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"d","size":3,"platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}',
  );
});
