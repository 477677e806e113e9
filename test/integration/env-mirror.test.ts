// The conformance mirror serves the three base images as docker.io/library/* would, from 127.0.0.1:5000
// (or the port it reports when 5000 is taken).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { baseImageLayout, baseImageMirrorNames, inspectImage, type BaseImageName } from '../env/base-images.ts';
import { startConformanceMirror } from '../env/conformance-mirror.ts';
import { httpGet } from '../env/http-get.ts';
import { conformanceDir } from '../env/paths.ts';
import { conformanceCorpus } from '../env/requirements.ts';

test('conformance mirror holds library/busybox, busybox-compat and debian', { timeout: 15 * 60 * 1000 }, async (t) => {
  // busybox-compat is built from the corpus' context: without it the mirror holds two images (a visible skip).
  const images: BaseImageName[] = conformanceDir() ? ['busybox', 'busybox-compat', 'debian'] : ['busybox', 'debian'];
  const noCorpus = conformanceCorpus().skip;
  if (noCorpus) t.skip(`${noCorpus}: busybox-compat not checked`);
  const mirror = await startConformanceMirror({ images });
  t.after(() => mirror.stop());
  assert.equal(mirror.mode, 'plain');
  assert.match(mirror.host, /^127\.0\.0\.1:\d+$/);
  if (mirror.host !== '127.0.0.1:5000') t.diagnostic(`port 5000 was busy; mirror on ${mirror.host}`);
  const catalog = JSON.parse((await httpGet(`${mirror.url}/v2/_catalog`)).body);
  assert.deepEqual(catalog.repositories, images.map((name) => baseImageMirrorNames[name].split(':')[0]).sort());
  for (const name of images) {
    const layout = await baseImageLayout(name);
    const layoutDigest = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests[0].digest;
    const info = await inspectImage(mirror, baseImageMirrorNames[name]);
    assert.equal(info.Digest, layoutDigest, name);
    assert.equal(mirror.digests[name], layoutDigest, name);
    assert.equal(info.Os, 'linux');
  }
  const debian = await inspectImage(mirror, 'library/debian:bookworm');
  assert.deepEqual((debian.Env as string[]), ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
});

test('conformance mirror moves to another port when 5000 is taken', { timeout: 5 * 60 * 1000 }, async (t) => {
  const blocker = createServer();
  const blocked = await new Promise<boolean>((resolvePromise) => {
    blocker.once('error', () => resolvePromise(false));
    blocker.listen(5000, '127.0.0.1', () => resolvePromise(true));
  });
  t.after(() => new Promise<void>((resolvePromise) => { if (blocked) blocker.close(() => resolvePromise()); else resolvePromise(); }));
  if (!blocked) t.diagnostic('port 5000 is already in use by something else: that alone exercises the fallback');
  const mirror = await startConformanceMirror({ images: ['busybox'] });
  t.after(() => mirror.stop());
  assert.notEqual(mirror.host, '127.0.0.1:5000');
  assert.equal((await httpGet(`${mirror.url}/v2/`)).status, 200);
  assert.equal((await inspectImage(mirror, 'library/busybox:latest')).Digest, mirror.digests.busybox);
});
