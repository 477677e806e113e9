/**
 * The layer cache in a registry repository: a real registry (plain, and TLS with basic auth), entries
 * checked with skopeo, the repository inferred from the destination as kaniko does, and a cache registry
 * that is down (the build succeeds and warns).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { inspectImage, skopeoRegistryFlags } from '../../env/base-images.ts';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { run } from '../../env/run.ts';
import { context, kiln, tempDir } from './kiln-process.ts';
import { busyboxSource, fileInImage, stepOutcomes } from './layer-cache-helpers.ts';

let plain: TestRegistry;
let basic: TestRegistry;
before(async () => {
  [plain, basic] = await Promise.all([startRegistry({ mode: 'plain' }), startRegistry({ mode: 'basic' })]);
});
after(async () => {
  await Promise.all([plain?.stop(), basic?.stop()]);
});

const DOCKERFILE = 'FROM busybox\nRUN date +%s%N > /stamp\nCOPY a.txt /a.txt\nRUN cat /a.txt /stamp > /both\n';

async function build(t: { after(fn: () => void): void }, ctx: string, flags: string[], env: NodeJS.ProcessEnv = {}) {
  const out = tempDir(t, 'kiln-out-');
  const layout = path.join(out, 'oci');
  const r = await kiln(['build', '-c', ctx, '--oci-layout-path', layout, '--digest-file', path.join(out, 'digest'), '--cache=true',
    '--reproducible', '--verbosity=debug', ...(await busyboxSource()), ...flags], env);
  const digest = fs.existsSync(path.join(out, 'digest')) ? fs.readFileSync(path.join(out, 'digest'), 'utf8') : '';
  return { status: r.status, log: r.stderr, layout, digest };
}

/** Tags of a repository, as skopeo lists them. */
async function tags(reg: TestRegistry, repo: string): Promise<string[]> {
  const r = await run('skopeo', ['list-tags', ...skopeoRegistryFlags(reg, ''), `docker://${reg.host}/${repo}`]);
  return (JSON.parse(r.stdout) as { Tags: string[] }).Tags;
}

test('a registry cache repo: cold then warm, no RUN runs again, same digest, entries are images', async (t) => {
  const ctx = context(t, { Dockerfile: DOCKERFILE, 'a.txt': 'a\n' });
  const flags = ['--no-push', `--cache-repo=${plain.host}/team/cache`, '--cache-copy-layers'];
  const cold = await build(t, ctx, flags);
  assert.equal(cold.status, 0, cold.log);
  const entries = await tags(plain, 'team/cache');
  assert.equal(entries.length, 3);
  for (const tag of entries) assert.match(tag, /^[0-9a-f]{64}$/);
  const entry = await inspectImage(plain, `team/cache:${entries[0]}`);
  assert.equal((entry.Layers as string[]).length, 1);

  const warm = await build(t, ctx, flags);
  assert.equal(warm.status, 0, warm.log);
  assert.deepEqual(stepOutcomes(warm.log), { 1: 'ran', 2: 'cached', 3: 'cached', 4: 'cached' });
  assert.equal(warm.digest, cold.digest);
  assert.equal(await fileInImage(warm.layout, '/both'), await fileInImage(cold.layout, '/both'));
});

test('TLS + basic auth: the cache repo uses the docker config credentials and --registry-certificate', async (t) => {
  const ctx = context(t, { Dockerfile: DOCKERFILE, 'a.txt': 'b\n' });
  const flags = ['--no-push', `--cache-repo=${basic.host}/private/cache`, '--registry-certificate', `${basic.host}=${basic.caFile}`];
  const env = { DOCKER_CONFIG: basic.dockerConfigDir };
  const cold = await build(t, ctx, flags, env);
  assert.equal(cold.status, 0, cold.log);
  assert.doesNotMatch(cold.log, /level=warn/);
  assert.equal((await tags(basic, 'private/cache')).length, 2, 'RUN layers');
  const warm = await build(t, ctx, flags, env);
  assert.deepEqual(stepOutcomes(warm.log), { 1: 'ran', 2: 'cached', 3: 'ran', 4: 'cached' });
  assert.equal(warm.digest, cold.digest);
  // Without credentials the cache is unusable: the build warns and goes on.
  const anonymous = await build(t, ctx, flags, { DOCKER_CONFIG: tempDir(t, 'kiln-empty-config-') });
  assert.equal(anonymous.status, 0, anonymous.log);
  assert.match(anonymous.log, /level=warn.*layer cache .*building without the layer cache/);
});

test('without --cache-repo the cache repo is <first destination>/cache (kaniko)', async (t) => {
  const ctx = context(t, { Dockerfile: DOCKERFILE, 'a.txt': 'c\n' });
  const flags = ['--destination', `${plain.host}/inferred/app:1`, '--destination', `${plain.host}/other/app:2`];
  const cold = await build(t, ctx, flags);
  assert.equal(cold.status, 0, cold.log);
  assert.match(cold.log, new RegExp(`layer cache: ${plain.host.replaceAll('.', '\\.')}/inferred/app/cache`));
  assert.equal((await tags(plain, 'inferred/app/cache')).length, 2);
  const warm = await build(t, ctx, flags);
  assert.equal(warm.digest, cold.digest);
  assert.equal((await inspectImage(plain, 'inferred/app:1')).Digest, warm.digest);
});

test('a cache registry that is down: one warning, the build succeeds uncached', async (t) => {
  const closed = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
  const ctx = context(t, { Dockerfile: DOCKERFILE, 'a.txt': 'd\n' });
  const r = await build(t, ctx, ['--no-push', `--cache-repo=127.0.0.1:${closed}/down/cache`]);
  assert.equal(r.status, 0, r.log);
  assert.equal([...r.log.matchAll(/level=warn.*layer cache/g)].length, 1, r.log);
  assert.deepEqual(stepOutcomes(r.log), { 1: 'ran', 2: 'ran', 3: 'ran', 4: 'ran' });
});

test('--no-push-cache reads the registry cache but pushes no entry', async (t) => {
  const ctx = context(t, { Dockerfile: DOCKERFILE, 'a.txt': 'e\n' });
  const r = await build(t, ctx, ['--no-push', `--cache-repo=${plain.host}/readonly/cache`, '--no-push-cache']);
  assert.equal(r.status, 0, r.log);
  await assert.rejects(tags(plain, 'readonly/cache'));
});
