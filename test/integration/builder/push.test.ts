/**
 * `kiln build --destination …` against real registries (plain, TLS + basic auth, TLS + bearer tokens),
 * checked with skopeo: every destination holds the built digest, the digest files name it, and failures
 * (wrong password, a failing build) leave nothing in the registry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { inspectImage, skopeoRegistryFlags } from '../../env/base-images.ts';
import { dockerConfigJson } from '../../env/registry-config.ts';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { run } from '../../env/run.ts';
import { firstN, startFaultProxy } from '../../env/fault-proxy.ts';
import { seedBusybox } from '../registry/helpers.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

let plain: TestRegistry;
let basic: TestRegistry;
let token: TestRegistry;
before(async () => {
  [plain, basic, token] = await Promise.all([
    startRegistry({ mode: 'plain' }), startRegistry({ mode: 'basic' }), startRegistry({ mode: 'token', anonymous: 'none' }),
  ]);
  await seedBusybox(plain);
});
after(async () => {
  await Promise.all([plain?.stop(), basic?.stop(), token?.stop()]);
});

/** Flags and environment that let kiln reach `reg` (its CA, its credentials). */
function access(reg: TestRegistry): { flags: string[]; env: NodeJS.ProcessEnv } {
  return {
    flags: reg.caFile ? ['--registry-certificate', `${reg.host}=${reg.caFile}`] : [],
    env: { DOCKER_CONFIG: reg.dockerConfigDir },
  };
}

function manifestsDir(reg: TestRegistry, repository: string): string {
  return path.join(reg.storageDir, 'docker', 'registry', 'v2', 'repositories', repository, '_manifests');
}

async function inspectFails(reg: TestRegistry, ref: string): Promise<string> {
  const err = await run('skopeo', ['--insecure-policy', 'inspect', ...skopeoRegistryFlags(reg, ''), `docker://${reg.host}/${ref}`])
    .then(() => undefined, (e: Error) => e.message);
  assert.ok(err !== undefined, `${ref} should not exist in ${reg.host}`);
  return err;
}

test('FROM a registry image, pushed to two destinations: both hold the digest the digest files name', async (t) => {
  const ctx = context(t, {
    Dockerfile: `FROM ${plain.host}/library/busybox:latest\nCOPY hello.txt /hello.txt\nENV GREETING=hi\n`,
    'hello.txt': 'hello\n',
  });
  const out = tempDir(t, 'kiln-out-');
  const files = { digest: path.join(out, 'digest'), names: path.join(out, 'names'), tags: path.join(out, 'tags') };
  const one = `${plain.host}/app/one:v1`;
  const two = `${plain.host}/app/two`;
  const r = await kiln(['build', '--context', ctx, '--destination', one, '--destination', two, '--push-retry=2',
    '--digest-file', files.digest, '--image-name-with-digest-file', files.names, '--image-name-tag-with-digest-file', files.tags]);
  assert.equal(r.status, 0, r.stderr);
  const digest = fs.readFileSync(files.digest, 'utf8');
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  const a = await inspectImage(plain, 'app/one:v1');
  const b = await inspectImage(plain, 'app/two:latest');
  assert.equal(a.Digest, digest);
  assert.equal(b.Digest, digest);
  assert.equal((a.Layers as string[]).length, 2, 'the busybox layer and the COPY layer');
  assert.deepEqual(fs.readFileSync(files.names, 'utf8').trim().split('\n'), [`${plain.host}/app/one@${digest}`, `${plain.host}/app/two@${digest}`]);
  assert.deepEqual(fs.readFileSync(files.tags, 'utf8').trim().split('\n'), [`${one}@${digest}`, `${two}:latest@${digest}`]);
  assert.match(r.stderr, new RegExp(`pushed ${one.replaceAll('.', '\\.')}@${digest}`));
});

for (const mode of ['basic', 'token'] as const) {
  test(`push over TLS with ${mode} auth, credentials from DOCKER_CONFIG`, async (t) => {
    const reg = mode === 'basic' ? basic : token;
    const ctx = context(t, { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': `pushed with ${mode}\n` });
    const out = tempDir(t, 'kiln-out-');
    const { flags, env } = access(reg);
    const r = await kiln(['build', '--context', ctx, '--destination', `${reg.host}/team/app:1.0`, '--digest-file', path.join(out, 'digest'), ...flags], env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await inspectImage(reg, 'team/app:1.0')).Digest, fs.readFileSync(path.join(out, 'digest'), 'utf8'));
    if (mode === 'token') {
      const pushes = reg.tokenServer!.requests.filter((q) => JSON.stringify(q).includes('push'));
      assert.ok(pushes.length > 0, 'a push token was asked for');
    }
  });
}

test('--skip-tls-verify pushes to a TLS registry without its CA; without it the TLS failure is clear', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' });
  const env = { DOCKER_CONFIG: basic.dockerConfigDir };
  const refused = await kiln(['build', '--context', ctx, '--destination', `${basic.host}/tls/app:1`], env);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /TLS|certificate/i);
  const r = await kiln(['build', '--context', ctx, '--destination', `${basic.host}/tls/app:1`, '--skip-tls-verify'], env);
  assert.equal(r.status, 0, r.stderr);
  assert.ok((await inspectImage(basic, 'tls/app:1')).Digest);
});

test('a wrong password fails before the build, names the registry and repository, and pushes nothing', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' });
  for (const reg of [basic, token]) {
    const config = tempDir(t, 'kiln-docker-');
    fs.writeFileSync(path.join(config, 'config.json'), dockerConfigJson(reg.host, reg.username!, 'not-the-password'));
    const out = tempDir(t, 'kiln-out-');
    const r = await kiln(['build', '--context', ctx, '--destination', `${reg.host}/denied/app:1`, '--digest-file', path.join(out, 'digest'),
      '--registry-certificate', `${reg.host}=${reg.caFile}`], { DOCKER_CONFIG: config });
    assert.notEqual(r.status, 0, `${reg.mode}: must fail`);
    assert.match(r.stderr, new RegExp(`error: .*${reg.host.replaceAll('.', '\\.')}/denied/app`), reg.mode);
    assert.match(r.stderr, /authentication required|access denied|unauthorized/i, reg.mode);
    assert.doesNotMatch(r.stderr, /not-the-password/, 'credentials never reach the output');
    assert.doesNotMatch(r.stderr, /\[1\/1\]|STEP|COPY a\.txt/, `${reg.mode}: the build did not start`);
    assert.equal(fs.existsSync(path.join(out, 'digest')), false);
    await inspectFails(reg, 'denied/app:1');
    assert.equal(fs.existsSync(manifestsDir(reg, 'denied/app')), false, `${reg.mode}: no manifest stored`);
  }
});

test('--skip-push-permission-check: the refusal comes at push time, still a clear error and no manifest', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' });
  const config = tempDir(t, 'kiln-docker-');
  fs.writeFileSync(path.join(config, 'config.json'), dockerConfigJson(basic.host, basic.username!, 'wrong'));
  const r = await kiln(['build', '--context', ctx, '--destination', `${basic.host}/late/app:1`, '--skip-push-permission-check',
    '--registry-certificate', `${basic.host}=${basic.caFile}`], { DOCKER_CONFIG: config });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`pushing to ${basic.host.replaceAll('.', '\\.')}/late/app:1 failed`));
  assert.equal(fs.existsSync(manifestsDir(basic, 'late/app')), false);
});

test('a build that fails pushes nothing', async (t) => {
  const ctx = context(t, { Dockerfile: `FROM ${plain.host}/library/busybox:latest\nCOPY missing.txt /x\n` });
  const r = await kiln(['build', '--context', ctx, '--destination', `${plain.host}/broken/app:1`]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /missing\.txt/);
  await inspectFails(plain, 'broken/app:1');
  assert.equal(fs.existsSync(manifestsDir(plain, 'broken/app')), false);
});

test('--no-push with --destination names the image in the tarball and digest files and pushes nothing', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' });
  const out = tempDir(t, 'kiln-out-');
  const dest = `${plain.host}/nopush/app:2`;
  const r = await kiln(['build', '--context', ctx, '--destination', dest, '--no-push', '--tar-path', path.join(out, 'image.tar'),
    '--image-name-tag-with-digest-file', path.join(out, 'tags')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(fs.readFileSync(path.join(out, 'tags'), 'utf8'), new RegExp(`^${dest.replaceAll('.', '\\.')}@sha256:`));
  await inspectFails(plain, 'nopush/app:2');
});

test('a blob upload that fails stops the push before any manifest; --push-retry rides over it', async (t) => {
  const ctx = context(t, { Dockerfile: `FROM ${plain.host}/library/busybox:latest\nCOPY a.txt /a.txt\n`, 'a.txt': 'retry\n' });
  const failOneUpload = () => firstN(1, (q) => q.path.includes('/blobs/uploads/'), { kind: 'status', status: 503 });
  // Every upload fails here: the COPY layer's early upload, then the push's own.
  const failing = await startFaultProxy(plain.host, firstN(1000, (q) => q.path.includes('/blobs/uploads/'), { kind: 'status', status: 503 }));
  t.after(() => failing.stop());
  const r = await kiln(['build', '--context', ctx, '--destination', `${failing.host}/flaky/app:1`, '--skip-push-permission-check']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`error: pushing to ${failing.host.replaceAll('.', '\\.')}/flaky/app:1 failed: .*503`));
  assert.equal(failing.requests.filter((q) => q.method === 'PUT' && q.path.includes('/manifests/')).length, 0, JSON.stringify(failing.requests));
  assert.equal(fs.existsSync(manifestsDir(plain, 'flaky/app')), false);

  const flaky = await startFaultProxy(plain.host, failOneUpload());
  t.after(() => flaky.stop());
  const out = tempDir(t, 'kiln-out-');
  const ok = await kiln(['build', '--context', ctx, '--destination', `${flaky.host}/flaky/app:1`, '--skip-push-permission-check', '--push-retry=2',
    '--digest-file', path.join(out, 'digest')]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal((await inspectImage(plain, 'flaky/app:1')).Digest, fs.readFileSync(path.join(out, 'digest'), 'utf8'));
});

test('layers are uploaded while later steps still run; the manifest comes last', async (t) => {
  const ctx = context(t, { Dockerfile: `FROM ${plain.host}/library/busybox:latest\nRUN echo a > /a\nRUN sleep 2 && echo b > /b\n` });
  const out = tempDir(t, 'kiln-out-');
  const r = await kiln(['build', '--context', ctx, '--destination', `${plain.host}/early/app:1`, '--digest-file', path.join(out, 'digest')]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n');
  const firstUpload = lines.findIndex((l) => /pushed blob [0-9a-f]{12} .*early\/app/.test(l));
  const lastStepDone = lines.findIndex((l) => /STEP 3\/3: done/.test(l));
  assert.ok(firstUpload >= 0 && lastStepDone >= 0, r.stderr);
  assert.ok(firstUpload < lastStepDone, `the first RUN's layer was pushed before the last step ended:\n${r.stderr}`);
  const pushed = await inspectImage(plain, 'early/app:1');
  assert.equal(pushed.Digest, fs.readFileSync(path.join(out, 'digest'), 'utf8'));
  assert.equal((pushed.Layers as string[]).length, 3);
  // Every blob the manifest names is there: skopeo copies the whole image out of the registry.
  await run('skopeo', ['--insecure-policy', 'copy', ...skopeoRegistryFlags(plain, 'src'), `docker://${plain.host}/early/app:1`, `oci:${path.join(out, 'copy')}:x`]);
});

test('a build that fails after an early upload leaves no manifest and no tag', async (t) => {
  const ctx = context(t, { Dockerfile: `FROM ${plain.host}/library/busybox:latest\nRUN echo a > /a\nRUN sleep 1 && exit 3\n` });
  const r = await kiln(['build', '--context', ctx, '--destination', `${plain.host}/early-broken/app:1`]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /pushed blob [0-9a-f]{12} .*early-broken\/app/, 'the first layer went up early');
  await inspectFails(plain, 'early-broken/app:1');
  assert.equal(fs.existsSync(manifestsDir(plain, 'early-broken/app')), false);
});
