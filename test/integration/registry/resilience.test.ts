import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { KilnError } from '../../../src/errors.ts';
import { addRegistryMirror } from '../../../src/registry/options.ts';
import { remoteImage } from '../../../src/registry/pull.ts';
import { parseReference } from '../../../src/registry/reference.ts';
import type { RemoteImage } from '../../../src/registry/remote-image.ts';
import { RegistrySession } from '../../../src/registry/session.ts';
import { startRegistry } from '../../env/registry.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { firstN, startFaultProxy } from '../../env/fault-proxy.ts';
import type { FaultRule } from '../../env/fault-proxy.ts';
import { optionsFor, seedBusybox } from './helpers.ts';

let mirror: TestRegistry;
let origin: TestRegistry;
let busyboxDigest: string;
before(async () => {
  [mirror, origin] = await Promise.all([startRegistry({ mode: 'plain' }), startRegistry({ mode: 'plain' })]);
  busyboxDigest = (await seedBusybox(mirror)).digest;
  await seedBusybox(mirror, 'hub/library/busybox:latest');
  await seedBusybox(origin, 'only-origin:1');
});
after(async () => {
  await Promise.all([mirror?.stop(), origin?.stop()]);
});

async function deadPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return `127.0.0.1:${port}`;
}

test('registry map: a dead mirror is skipped, the next one answers, the original is the fallback', async (t) => {
  const dead = await deadPort();
  const opts = optionsFor(origin, { registryMaps: { [origin.host]: [dead, mirror.host] } });
  const session = new RegistrySession(opts);
  t.after(() => session.close());
  const fromMirror = (await remoteImage(parseReference(`${origin.host}/library/busybox:latest`), opts, { session })) as RemoteImage;
  assert.equal(fromMirror.ref.registry, mirror.host);
  assert.equal(await fromMirror.digest(), busyboxDigest);
  assert.ok(opts.messages.some((m) => m.includes(dead)), opts.messages.join('\n'));

  const fallback = (await remoteImage(parseReference(`${origin.host}/only-origin:1`), opts, { session })) as RemoteImage;
  assert.equal(fallback.ref.registry, origin.host);
  assert.ok(opts.messages.some((m) => m.includes(mirror.host) && m.includes('only-origin')), opts.messages.join('\n'));

  const strict = { ...opts, skipDefaultRegistryFallback: true };
  await assert.rejects(remoteImage(parseReference(`${origin.host}/only-origin:1`), strict, { session }), (err: unknown) => {
    assert.ok(err instanceof KilnError);
    assert.equal(err.code, 'IMAGE_NOT_FOUND');
    assert.match(err.hint ?? '', /skip-default-registry-fallback/);
    return true;
  });
});

test('--registry-mirror applies to docker.io (with a path prefix) and normalises library/', async (t) => {
  const opts = optionsFor(mirror, { registryMaps: addRegistryMirror({}, `${mirror.host}/hub`), skipDefaultRegistryFallback: true });
  const session = new RegistrySession(opts);
  t.after(() => session.close());
  const image = (await remoteImage(parseReference('busybox'), opts, { session })) as RemoteImage;
  assert.equal(image.ref.registry, mirror.host);
  assert.equal(image.ref.repository, 'hub/library/busybox');
  assert.equal(await image.digest(), busyboxDigest);
});

test('a blob download cut mid-way resumes with Range and still verifies; a 503 is retried', async (t) => {
  const probe = await remoteImage(parseReference(`${mirror.host}/library/busybox:latest`), optionsFor(mirror));
  const layerDigest = (await probe.manifest()).layers[0].digest;
  const cut = firstN(1, (r) => r.method === 'GET' && r.path.includes(`/blobs/${layerDigest}`), { kind: 'cut', afterBytes: 150_000 });
  const fail = firstN(1, (r) => r.path.includes('/manifests/latest'), { kind: 'status', status: 503 });
  const rule: FaultRule = (r, i) => fail(r, i) ?? cut(r, i);
  const proxy = await startFaultProxy(mirror.host, rule);
  t.after(() => proxy.stop());
  const opts = optionsFor(mirror, { imageDownloadRetry: 2 });
  const session = new RegistrySession(opts);
  t.after(() => session.close());
  const image = await remoteImage(parseReference(`${proxy.host}/library/busybox:latest`), opts, { session });
  const layer = (await image.layers())[0];
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await layer.compressed()) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  assert.equal(`sha256:${hash.digest('hex')}`, layerDigest);
  assert.equal(bytes, await layer.size());
  const blobGets = proxy.requests.filter((r) => r.method === 'GET' && r.path === `/v2/library/busybox/blobs/${layerDigest}`);
  assert.equal(blobGets.length, 2, JSON.stringify(proxy.requests));
  assert.equal(blobGets[0].fault, 'cut');
  assert.match(blobGets[1].range ?? '', /^bytes=\d+-$/);
  assert.equal(proxy.requests.filter((r) => r.path.includes('/manifests/latest')).length, 2);
  assert.ok(opts.messages.some((m) => m.includes('resuming')), opts.messages.join('\n'));
  assert.ok(opts.messages.some((m) => m.includes('503')), opts.messages.join('\n'));
});

test('without retries a 503 on the manifest fails with the registry named', async (t) => {
  const proxy = await startFaultProxy(mirror.host, firstN(1, (r) => r.path.includes('/manifests/latest'), { kind: 'status', status: 503 }));
  t.after(() => proxy.stop());
  await assert.rejects(remoteImage(parseReference(`${proxy.host}/library/busybox:latest`), optionsFor(mirror)), (err: unknown) => {
    assert.ok(err instanceof KilnError);
    assert.equal(err.code, 'REGISTRY_ERROR');
    assert.match(err.message, new RegExp(`${proxy.host}/library/busybox.*503`));
    return true;
  });
});
