/**
 * `kiln warm` + `kiln build --cache=true --cache-dir` (base images without a registry: the registry is
 * stopped before the build), --cache-ttl expiry, and --base-image-source from an OCI layout and a docker
 * archive. Checked with skopeo.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CACHE_FETCHED_ANNOTATION, CACHE_REFERENCE_ANNOTATION } from '../../../src/cache/base-image-cache.ts';
import { baseImageLayout, baseImageRefNames, skopeoRegistryFlags } from '../../env/base-images.ts';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { run } from '../../env/run.ts';
import { seedBusybox } from '../registry/helpers.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

interface IndexEntry { digest: string; annotations: Record<string, string>; platform?: { os: string; architecture: string } }

function cacheIndex(dir: string): IndexEntry[] {
  return (JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: IndexEntry[] }).manifests;
}

async function skopeoJson(args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse((await run('skopeo', ['--insecure-policy', 'inspect', ...args])).stdout) as Record<string, unknown>;
}

async function busyboxLayers(): Promise<string[]> {
  return (await skopeoJson([`oci:${await baseImageLayout('busybox')}:${baseImageRefNames.busybox}`])).Layers as string[];
}

async function startSeeded(t: { after(fn: () => Promise<void>): void }): Promise<{ reg: TestRegistry; digest: string }> {
  const reg = await startRegistry({ mode: 'plain' });
  t.after(() => reg.stop());
  const { digest } = await seedBusybox(reg);
  return { reg, digest };
}

test('kiln warm, then a build with the registry stopped takes FROM out of the cache', async (t) => {
  const { reg, digest } = await startSeeded(t);
  const image = `${reg.host}/library/busybox:latest`;
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'cache');
  const warm = await kiln(['warm', '--image', image, '--cache-dir', cache]);
  assert.equal(warm.status, 0, warm.stderr);
  const entries = cacheIndex(cache);
  assert.equal(entries.length, 1);
  assert.equal(entries[0].digest, digest, 'the platform image as the registry holds it');
  assert.equal(entries[0].annotations[CACHE_REFERENCE_ANNOTATION], image);
  assert.ok(Date.now() - Date.parse(entries[0].annotations[CACHE_FETCHED_ANNOTATION]) < 60_000);
  // A standard layout: skopeo reads it by the reference as ref name.
  assert.equal((await skopeoJson([`oci:${cache}:${image}`])).Digest, digest);
  const again = await kiln(['warm', '--image', image, '--cache-dir', cache]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /already in the cache/);

  await reg.stop();
  const ctx = context(t, { Dockerfile: `FROM ${image}\nCOPY a.txt /a.txt\n`, 'a.txt': 'offline\n' });
  const out = tempDir(t, 'kiln-out-');
  const withoutCache = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'none')]);
  assert.notEqual(withoutCache.status, 0, 'without the cache the stopped registry is needed');
  assert.match(withoutCache.stderr, new RegExp(reg.host.replaceAll('.', '\\.')));

  const r = await kiln(['build', '--context', ctx, '--no-push', '--cache=true', '--cache-dir', cache, '--oci-layout-path', path.join(out, 'oci')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /from the base-image cache/);
  const layers = (await skopeoJson([`oci:${path.join(out, 'oci')}`])).Layers as string[];
  assert.deepEqual(layers.slice(0, -1), await busyboxLayers());
  assert.equal(layers.length, (await busyboxLayers()).length + 1);
});

test('kiln warm --dockerfile caches every stage base image (build args applied); --cache-ttl expiry fetches again', async (t) => {
  const { reg, digest } = await startSeeded(t);
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'cache');
  const ctx = context(t, {
    Dockerfile: [
      `ARG REG=unset`,
      'FROM ${REG}/library/busybox:latest AS base',
      'FROM base AS second',
      'FROM scratch',
      'COPY --from=base /bin/busybox /busybox',
      '',
    ].join('\n'),
  });
  const warm = await kiln(['warm', '--dockerfile', path.join(ctx, 'Dockerfile'), '--build-arg', `REG=${reg.host}`, '--cache-dir', cache]);
  assert.equal(warm.status, 0, warm.stderr);
  assert.deepEqual(cacheIndex(cache).map((e) => e.annotations[CACHE_REFERENCE_ANNOTATION]), [`${reg.host}/library/busybox:latest`]);

  // The tag moves to another manifest (the same image as Docker schema 2).
  const layout = await baseImageLayout('busybox');
  const digestFile = path.join(tempDir(t, 'kiln-digest-'), 'd');
  await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--format', 'v2s2', '--digestfile', digestFile, ...skopeoRegistryFlags(reg, 'dest'),
    `oci:${layout}:${baseImageRefNames.busybox}`, `docker://${reg.host}/library/busybox:latest`]);
  const moved = fs.readFileSync(digestFile, 'utf8').trim();
  assert.notEqual(moved, digest);

  const fresh = await kiln(['warm', '--image', `${reg.host}/library/busybox`, '--cache-dir', cache]);
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.equal(cacheIndex(cache)[0].digest, digest, 'within the TTL the entry is kept');
  const expired = await kiln(['warm', '--image', `${reg.host}/library/busybox`, '--cache-dir', cache, '--cache-ttl', '1ms']);
  assert.equal(expired.status, 0, expired.stderr);
  assert.equal(cacheIndex(cache).length, 1, 'the entry is replaced, not added');
  assert.equal(cacheIndex(cache)[0].digest, moved, 'an expired entry is fetched again');

  // A build with an expired entry goes to the registry; stopped, it fails; with the default TTL it is offline.
  await reg.stop();
  const build = (ttl: string[]): ReturnType<typeof kiln> =>
    kiln(['build', '--context', ctx, '--no-push', '--build-arg', `REG=${reg.host}`, '--cache=true', '--cache-dir', cache, ...ttl, '--tar-path', path.join(cache, '..', 'out.tar')]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const stale = await build(['--cache-ttl=10ms']);
  assert.notEqual(stale.status, 0);
  assert.match(stale.stderr, /cannot reach|ECONNREFUSED/);
  const ok = await build([]);
  assert.equal(ok.status, 0, ok.stderr);
});

test('--base-image-source takes FROM and COPY --from images from an OCI layout or a docker archive', async (t) => {
  const layout = await baseImageLayout('busybox');
  const work = tempDir(t, 'kiln-local-');
  const archive = path.join(work, 'base.tar');
  await run('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${layout}:${baseImageRefNames.busybox}`, `docker-archive:${archive}:example.com/base:1`]);
  const ctx = context(t, {
    Dockerfile: 'FROM example.com/base:1\nCOPY --from=tools /bin/busybox /tools/busybox\nCOPY a.txt /a.txt\n',
    'a.txt': 'local\n',
  });
  const want = await busyboxLayers();
  for (const [kind, spec] of [['oci', `oci:${layout}:${baseImageRefNames.busybox}`], ['docker-archive', `docker-archive:${archive}`]] as const) {
    const out = path.join(work, `out-${kind}`);
    const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', out,
      '--base-image-source', `example.com/base:1=${spec}`, '--base-image-source', `tools=oci:${layout}`]);
    assert.equal(r.status, 0, `${kind}: ${r.stderr}`);
    const inspect = await skopeoJson([`oci:${out}`]);
    const layers = inspect.Layers as string[];
    assert.equal(layers.length, want.length + 2, kind);
    const config = JSON.parse((await run('skopeo', ['inspect', '--config', `oci:${out}`])).stdout) as { rootfs: { diff_ids: string[] } };
    const baseConfig = JSON.parse((await run('skopeo', ['inspect', '--config', `oci:${layout}:${baseImageRefNames.busybox}`])).stdout) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(config.rootfs.diff_ids.slice(0, baseConfig.rootfs.diff_ids.length), baseConfig.rootfs.diff_ids, `${kind}: base layers first`);
  }
  const missing = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(work, 'x'),
    '--base-image-source', `example.com/base:1=oci:${path.join(work, 'nope')}`]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /error: --base-image-source example\.com\/base:1=oci:.*nope: .*not an OCI image layout/);
  const bad = await kiln(['build', '--context', ctx, '--no-push', '--base-image-source', 'example.com/base:1=zip:/x']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /must start with oci: or docker-archive:/);
});
