import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { KilnError } from '../../../src/errors.ts';
import { remoteImage } from '../../../src/registry/pull.ts';
import { pushImage } from '../../../src/registry/push.ts';
import { parseReference } from '../../../src/registry/reference.ts';
import { RegistrySession } from '../../../src/registry/session.ts';
import { inspectImage, skopeoRegistryFlags } from '../../env/base-images.ts';
import { startRegistry } from '../../env/registry.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { run } from '../../env/run.ts';
import { optionsFor, seedBusybox, variantImage } from './helpers.ts';

let source: TestRegistry;
let other: TestRegistry;
before(async () => {
  [source, other] = await Promise.all([startRegistry({ mode: 'plain' }), startRegistry({ mode: 'tls' })]);
  await seedBusybox(source);
});
after(async () => {
  await Promise.all([source?.stop(), other?.stop()]);
});

function bothOptions(overrides = {}) {
  return optionsFor(source, { registryCertificates: { [other.host]: other.caFile! }, ...overrides });
}

async function rawDigest(reg: TestRegistry, ref: string): Promise<string> {
  const raw = (await run('skopeo', ['--insecure-policy', 'inspect', '--raw', ...skopeoRegistryFlags(reg, ''), `docker://${reg.host}/${ref}`])).stdout;
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

test('push to several destinations in two registries; digests agree with skopeo', async (t) => {
  const opts = bothOptions();
  const session = new RegistrySession(opts);
  t.after(() => session.close());
  const base = await remoteImage(parseReference(`${source.host}/library/busybox:latest`), opts, { session });
  const image = await variantImage(base, (c) => ({ ...c, config: { ...c.config, Env: ['PUSHED=1'] } }));
  const refs = [`${source.host}/app/one:v1`, `${source.host}/app/one:latest`, `${source.host}/app/two:v1`, `${other.host}/elsewhere:v1`].map((r) => parseReference(r));
  const result = await pushImage(image, refs, opts, { session });
  assert.equal(result.digest, await image.digest());
  assert.deepEqual(result.destinations.map((d) => d.outcome), ['pushed', 'pushed', 'pushed', 'pushed']);
  // app/one: config uploaded, layer mounted from library/busybox; app/two: both mounted from app/one;
  // the other registry: both uploaded.
  assert.deepEqual(result.blobs, { exists: 0, mounted: 3, uploaded: 3 });
  for (const [reg, ref] of [[source, 'app/one:v1'], [source, 'app/one:latest'], [source, 'app/two:v1'], [other, 'elsewhere:v1']] as const) {
    assert.equal((await inspectImage(reg, ref)).Digest, result.digest, ref);
    assert.equal(await rawDigest(reg, ref), result.digest, ref);
  }
  const again = await pushImage(image, [refs[0]], opts, { session });
  assert.deepEqual(again.blobs, { exists: 2, mounted: 0, uploaded: 0 });
});

test('chunked upload (PATCH + PUT ?digest=) gives the same image', async (t) => {
  const opts = bothOptions({ chunkSize: 64 * 1024 });
  const session = new RegistrySession(opts);
  t.after(() => session.close());
  const base = await remoteImage(parseReference(`${source.host}/library/busybox:latest`), opts, { session });
  const result = await pushImage(base, [parseReference(`${other.host}/chunked:v1`)], opts, { session });
  assert.equal(result.blobs.uploaded, 2);
  assert.equal(await rawDigest(other, 'chunked:v1'), result.digest);
  const pulled = await remoteImage(parseReference(`${other.host}/chunked:v1`), opts, { session });
  for (const layer of await pulled.layers()) {
    const hash = createHash('sha256');
    for await (const chunk of await layer.compressed()) hash.update(chunk as Buffer);
    assert.equal(`sha256:${hash.digest('hex')}`, await layer.digest());
  }
});

test('a destination pinned to another digest is refused before anything is sent', async () => {
  const opts = bothOptions();
  const base = await remoteImage(parseReference(`${source.host}/library/busybox:latest`), opts);
  await assert.rejects(pushImage(base, [parseReference(`${source.host}/pinned@sha256:${'0'.repeat(64)}`)], opts), (err: unknown) => {
    assert.ok(err instanceof KilnError);
    assert.equal(err.code, 'DIGEST_MISMATCH');
    return true;
  });
});
