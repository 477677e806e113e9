import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtinForConfigName, builtinForHost, parseEcrHost } from '../../../src/registry/cloud-auth/hosts.ts';
import { defaultRegistryOptions } from '../../../src/registry/options.ts';
import { RegistrySession } from '../../../src/registry/session.ts';

test('ECR host names: account, region and FIPS, in the commercial, China and isolated partitions', () => {
  assert.deepEqual(parseEcrHost('123456789012.dkr.ecr.us-east-1.amazonaws.com'), { account: '123456789012', region: 'us-east-1', fips: false });
  assert.deepEqual(parseEcrHost('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com'), { account: '123456789012', region: 'us-gov-west-1', fips: true });
  assert.deepEqual(parseEcrHost('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn'), { account: '123456789012', region: 'cn-north-1', fips: false });
  assert.deepEqual(parseEcrHost('123456789012.dkr-ecr.eu-west-1.on.aws'), { account: '123456789012', region: 'eu-west-1', fips: false });
  assert.equal(parseEcrHost('12345.dkr.ecr.us-east-1.amazonaws.com'), undefined);
  assert.equal(parseEcrHost('123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.io'), undefined);
  assert.equal(parseEcrHost('public.ecr.aws'), undefined);
});

test('Google, ECR and ACR hosts, and the docker helper names that pick a built-in', () => {
  for (const host of ['gcr.io', 'eu.gcr.io', 'us-docker.pkg.dev', 'europe-west1-docker.pkg.dev', 'gcr.io:443']) assert.equal(builtinForHost(host), 'google', host);
  for (const host of ['pkg.dev', 'notgcr.io', 'gcr.io.evil.com', 'ghcr.io', 'docker.io']) assert.equal(builtinForHost(host), undefined, host);
  assert.equal(builtinForHost('210987654321.dkr.ecr.eu-west-1.amazonaws.com'), 'ecr');
  assert.equal(builtinForHost('myregistry.azurecr.io'), 'acr');
  assert.equal(builtinForHost('azurecr.io'), undefined);
  assert.equal(builtinForConfigName('gcr'), 'google');
  assert.equal(builtinForConfigName('gcloud'), 'google');
  assert.equal(builtinForConfigName('ecr-login'), 'ecr');
  assert.equal(builtinForConfigName('acr-env'), 'acr');
  assert.equal(builtinForConfigName('desktop'), undefined);
  assert.equal(builtinForConfigName('constructor'), undefined);
});

test('credsStore ecr-login leaves other registries anonymous; --credential-helpers turns off by-host helpers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-dc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ credsStore: 'ecr-login' }));
  // No AWS credentials and no region: had the helper run for this host, it would have failed.
  const env = { PATH: '/nonexistent', HOME: dir };
  const session = new RegistrySession(defaultRegistryOptions({ dockerConfigDir: dir, env }));
  t.after(() => session.close());
  assert.deepEqual(await session.credentials('registry.example.com'), {});
  // An ECR host under credsStore ecr-login: the helper runs, and says which one failed and why.
  await assert.rejects(session.credentials('123456789012.dkr.ecr.us-east-1.amazonaws.com'), /built-in credential helper ecr-login failed/);

  const messages: string[] = [];
  const none = new RegistrySession(defaultRegistryOptions({ dockerConfigDir: join(dir, 'absent'), env, credentialHelpers: [], log: (m) => messages.push(m) }));
  t.after(() => none.close());
  assert.deepEqual(await none.credentials('gcr.io'), {});
  assert.deepEqual(messages, [], 'no helper ran');
});

test("Docker Hub: config.json's https://index.docker.io/v1/ key serves docker.io pulls and pushes (kaniko's README example)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-dc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const auth = Buffer.from('hubuser:hub-access-token').toString('base64');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth } } }));
  const { parseReference } = await import('../../../src/registry/reference.ts');
  const session = new RegistrySession(defaultRegistryOptions({ dockerConfigDir: dir, env: { PATH: '/nonexistent' } }));
  t.after(() => session.close());
  for (const name of ['busybox', 'docker.io/library/busybox:1', 'index.docker.io/team/app:2']) {
    assert.deepEqual(await session.credentials(parseReference(name).registry), { username: 'hubuser', password: 'hub-access-token' }, name);
  }
  assert.deepEqual(await session.credentials('ghcr.io'), {});
});

test('by host name with no Google credentials: anonymous (a public gcr.io or mirror.gcr.io pull), the reason logged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-dc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const messages: string[] = [];
  const session = new RegistrySession(defaultRegistryOptions({ dockerConfigDir: dir, env: { PATH: '/nonexistent', HOME: dir }, log: (m) => messages.push(m) }));
  t.after(() => session.close());
  assert.deepEqual(await session.credentials('mirror.gcr.io'), {});
  assert.equal(messages.length, 1);
  assert.match(messages[0], /no credentials from built-in helper gcr for mirror\.gcr\.io, continuing anonymously: .*no Google credentials found/);
});

test('by host name, an identity that is there but unusable is an error, not a silent anonymous pull', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-dc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { PATH: '/nonexistent', HOME: dir, GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'missing-key.json') };
  const session = new RegistrySession(defaultRegistryOptions({ dockerConfigDir: dir, env }));
  t.after(() => session.close());
  await assert.rejects(session.credentials('eu.gcr.io'), (err: unknown) => {
    assert.ok(err instanceof Error && 'code' in err && err.code === 'CREDENTIAL_HELPER_FAILED');
    assert.match(err.message, /built-in credential helper gcr failed for eu\.gcr\.io: cannot read the key file named by GOOGLE_APPLICATION_CREDENTIALS .*ENOENT/);
    return true;
  });
});

test('cloud tokens are fetched again five minutes before they expire (at half life when shorter), never for a past expiry', async () => {
  const { refreshAt } = await import('../../../src/registry/cloud-auth/errors.ts');
  const now = 1_000_000_000;
  assert.equal(refreshAt(now + 3_600_000, now), now + 3_600_000 - 300_000);
  assert.equal(refreshAt(now + 2_000, now), now + 1_000);
  assert.equal(refreshAt(now - 1, now), undefined, "moto's tokens expire in 2015");
  assert.equal(refreshAt(undefined, now), undefined);
});
