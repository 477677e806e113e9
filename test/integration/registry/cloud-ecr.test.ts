/**
 * The built-in ECR helper (ecr-login) with the real AWS SDK against moto's server, in front of a basic-auth
 * registry whose password is the one moto's GetAuthorizationToken issues.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { motoEcrPassword, MOTO_ACCOUNT } from '../../env/moto.ts';
import { startRegistry } from '../../env/registry.ts';
import { assertNoSecrets, assertPushed, buildThrough, dockerConfigDir, useEcrStandIn } from './cloud-build.ts';

const AWS_SECRET = 'kiln-test-aws-secret-key-7c1e';
const ecr = useEcrStandIn();

function awsEnv(): NodeJS.ProcessEnv {
  return { AWS_ENDPOINT_URL_ECR: ecr.moto.url, AWS_ACCESS_KEY_ID: 'AKIAKILNTEST', AWS_SECRET_ACCESS_KEY: AWS_SECRET, AWS_REGION: 'us-east-1' };
}

const token = Buffer.from(`AWS:${motoEcrPassword(MOTO_ACCOUNT)}`).toString('base64');

test('credHelpers ecr-login: pull and push with the token from GetAuthorizationToken; no token or key in trace logs', async (t) => {
  const r = await buildThrough(t, ecr.registry, 'ecr/app:1', { DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [ecr.registry.host]: 'ecr-login' } }), ...awsEnv() });
  await assertPushed(r, ecr.registry, 'ecr/app:1', [motoEcrPassword(MOTO_ACCOUNT), token, AWS_SECRET]);
});

test('no AWS credentials: the error names ecr-login and says why, and the build does not start', async (t) => {
  const r = await buildThrough(t, ecr.registry, 'ecr/none:1', { DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [ecr.registry.host]: 'ecr-login' } }), AWS_ENDPOINT_URL_ECR: ecr.moto.url, AWS_REGION: 'us-east-1' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`built-in credential helper ecr-login failed for ${ecr.registry.host.replaceAll('.', '\\.')}: no AWS credentials found`));
  assert.match(r.stderr, /hint: .*AWS_ACCESS_KEY_ID/);
  assert.doesNotMatch(r.stderr, /COPY a\.txt/);
});

test('a token the registry refuses fails clearly, without printing it', async (t) => {
  const other = await startRegistry({ mode: 'basic', users: { AWS: 'some-other-password' } });
  t.after(() => other.stop());
  const r = await buildThrough(t, other, 'ecr/refused:1', { DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [other.host]: 'ecr-login' } }), ...awsEnv() });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /authentication required/);
  assert.match(r.stderr, /hint: the credentials for .* came from the built-in credential helper ecr-login: check that its cloud identity may push to this repository/);
  assertNoSecrets(r, [motoEcrPassword(MOTO_ACCOUNT), token, AWS_SECRET]);
});

test('an external docker-credential-ecr-login on PATH still wins where config.json names it', async (t) => {
  const { chmodSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const bin = dockerConfigDir(t, {});
  writeFileSync(join(bin, 'docker-credential-ecr-login'), `#!/bin/sh\nprintf '{"Username":"AWS","Secret":"${motoEcrPassword(MOTO_ACCOUNT)}"}'\n`);
  chmodSync(join(bin, 'docker-credential-ecr-login'), 0o755);
  // No AWS credentials at all: only the external program can have answered.
  const r = await buildThrough(t, ecr.registry, 'ecr/external:1', {
    DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [ecr.registry.host]: 'ecr-login' } }), PATH: `${bin}:${process.env.PATH}`,
  });
  await assertPushed(r, ecr.registry, 'ecr/external:1', []);
});

test('by host name, with nothing in config.json: the account and region come from the ECR host (in process, the SDK reads process.env)', async (t) => {
  const { RegistrySession } = await import('../../../src/registry/session.ts');
  const { defaultRegistryOptions } = await import('../../../src/registry/options.ts');
  const saved = { ...process.env };
  t.after(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });
  Object.assign(process.env, awsEnv(), { AWS_REGION: '' });
  const session = new RegistrySession(defaultRegistryOptions({ dockerConfigDir: dockerConfigDir(t, {}), env: process.env }));
  t.after(() => session.close());
  for (const host of ['210987654321.dkr.ecr.eu-west-1.amazonaws.com', '210987654321.dkr.ecr-fips.us-gov-west-1.amazonaws.com', '210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn']) {
    // moto names the password after the account GetAuthorizationToken was asked about (registryIds).
    assert.deepEqual(await session.credentials(host), { username: 'AWS', password: motoEcrPassword('210987654321'), origin: 'built-in credential helper ecr-login' }, host);
  }
  const none = new RegistrySession(defaultRegistryOptions({ dockerConfigDir: dockerConfigDir(t, {}), env: process.env, credentialHelpers: ['google'] }));
  t.after(() => none.close());
  assert.deepEqual(await none.credentials('210987654321.dkr.ecr.eu-west-1.amazonaws.com'), {}, '--credential-helpers without ecr');
});
