/**
 * The built-in Google helper (gcr / gcloud) against a local token endpoint (a service account key's token_uri)
 * and a local metadata server (GCE_METADATA_HOST), in front of a basic-auth registry whose password for
 * `oauth2accesstoken` is the token they issue.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startGoogleEndpoints } from '../../env/google-endpoints.ts';
import type { GoogleEndpoints } from '../../env/google-endpoints.ts';
import { startRegistry } from '../../env/registry.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { defaultRegistryOptions } from '../../../src/registry/options.ts';
import { RegistrySession } from '../../../src/registry/session.ts';
import { tempDir } from '../builder/kiln-process.ts';
import { assertNoSecrets, assertPushed, buildThrough, dockerConfigDir } from './cloud-build.ts';
import { seedBusybox } from './helpers.ts';

let google: GoogleEndpoints;
let reg: TestRegistry;

before(async () => {
  google = await startGoogleEndpoints();
  reg = await startRegistry({ mode: 'basic', users: { oauth2accesstoken: google.accessToken } });
  await seedBusybox(reg);
});
after(async () => {
  await Promise.all([google?.stop(), reg?.stop()]);
});

function keyFile(t: { after(fn: () => void): void }): string {
  const file = path.join(tempDir(t, 'kiln-gcp-'), 'kaniko-secret.json');
  fs.writeFileSync(file, google.serviceAccountKey);
  return file;
}

const privateKeyLine = () => (JSON.parse(google.serviceAccountKey) as { private_key: string }).private_key.split('\n')[1];

// `gcloud` names the same built-in (unit-tested); these machines have Google's docker-credential-gcloud on PATH,
// which rightly wins over it, so the end-to-end tests use `gcr`.
for (const name of ['gcr']) {
  test(`credHelpers ${name}: a service account key's token_uri gives the token; pull and push; nothing secret in trace logs`, async (t) => {
    const before = google.issued.length;
    const r = await buildThrough(t, reg, `gcp/key-${name}:1`, {
      DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [reg.host]: name } }), GOOGLE_APPLICATION_CREDENTIALS: keyFile(t),
    });
    await assertPushed(r, reg, `gcp/key-${name}:1`, [google.accessToken, privateKeyLine()]);
    // One token per registry session (a build reads its bases in one and pushes in another), not per request.
    assert.deepEqual(google.issued.slice(before), ['token', 'token']);
  });
}

test("gcloud's application default credentials (authorized_user, under CLOUDSDK_CONFIG) give the token", async (t) => {
  const config = tempDir(t, 'kiln-gcloud-');
  fs.writeFileSync(path.join(config, 'application_default_credentials.json'), google.userCredentials);
  const before = google.issued.length;
  const r = await buildThrough(t, reg, 'gcp/adc:1', { DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [reg.host]: 'gcr' } }), CLOUDSDK_CONFIG: config });
  await assertPushed(r, reg, 'gcp/adc:1', [google.accessToken, '1//kiln-test-refresh-token', 'kiln-test-oauth-client-secret']);
  assert.deepEqual(google.issued.slice(before), ['refresh', 'refresh']);
});

test('the metadata server (GCE_METADATA_HOST) gives the token when there is no key file', async (t) => {
  const before = google.issued.length;
  const r = await buildThrough(t, reg, 'gcp/metadata:1', { DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [reg.host]: 'gcr' } }), GCE_METADATA_HOST: google.metadataHost });
  await assertPushed(r, reg, 'gcp/metadata:1', [google.accessToken]);
  assert.deepEqual(google.issued.slice(before), ['metadata', 'metadata']);
});

test('a token endpoint that refuses the key fails clearly, naming the helper, without the key or a token', async (t) => {
  google.refuse = true;
  t.after(() => { google.refuse = false; });
  const r = await buildThrough(t, reg, 'gcp/refused:1', { DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [reg.host]: 'gcr' } }), GOOGLE_APPLICATION_CREDENTIALS: keyFile(t) });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /built-in credential helper gcr failed for .*: the token endpoint 127\.0\.0\.1:\d+ refused to issue a token \(HTTP 400: invalid_grant: Invalid JWT Signature\.\)/);
  assertNoSecrets(r, [google.accessToken, privateKeyLine()]);
});

test('no Google credentials anywhere: the error says where it looked', async (t) => {
  const r = await buildThrough(t, reg, 'gcp/none:1', { DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [reg.host]: 'gcr' } }), GCE_METADATA_HOST: '127.0.0.1:9' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /built-in credential helper gcr failed for .*: no Google credentials found: GOOGLE_APPLICATION_CREDENTIALS is not set/);
  assert.match(r.stderr, /hint: set GOOGLE_APPLICATION_CREDENTIALS/);
});

test('the token is fetched again before it expires, not on every request', async (t) => {
  google.expiresIn = 2; // refreshed at half its life: after one second
  t.after(() => { google.expiresIn = 3600; });
  const session = new RegistrySession(defaultRegistryOptions({
    dockerConfigDir: dockerConfigDir(t, { credHelpers: { [reg.host]: 'gcr' } }),
    env: { PATH: process.env.PATH, GOOGLE_APPLICATION_CREDENTIALS: keyFile(t) },
  }));
  t.after(() => session.close());
  const before = google.issued.length;
  assert.equal((await session.credentials(reg.host)).password, google.accessToken);
  await session.credentials(reg.host);
  assert.equal(google.issued.length - before, 1, 'cached while fresh');
  await new Promise((r) => setTimeout(r, 1100));
  await session.credentials(reg.host);
  assert.equal(google.issued.length - before, 2, 'fetched again once due');
});
