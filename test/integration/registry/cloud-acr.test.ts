/**
 * The built-in ACR helper (acr-env) with the real Azure identity SDK against a local Azure AD
 * (AZURE_AUTHORITY_HOST) and a registry front answering /oauth2/exchange as ACR does, in front of a basic-auth
 * registry whose password for the all-zero user is the refresh token the exchange issues.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startAzureAd } from '../../env/azure-ad.ts';
import type { AzureAd } from '../../env/azure-ad.ts';
import { startRegistryFront } from '../../env/registry-front.ts';
import type { RegistryFront } from '../../env/registry-front.ts';
import { startRegistry } from '../../env/registry.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { tempDir } from '../builder/kiln-process.ts';
import { assertNoSecrets, assertPushed, buildThrough, dockerConfigDir } from './cloud-build.ts';
import { seedBusybox } from './helpers.ts';

const ACR_USER = '00000000-0000-0000-0000-000000000000';
const REFRESH_TOKEN = 'kiln-test-acr-refresh-token-91ab';
let ad: AzureAd;
let reg: TestRegistry;
let front: RegistryFront;
let refuseExchange = false;
const exchanges: string[] = [];
let caBundle: string;

before(async () => {
  ad = await startAzureAd();
  reg = await startRegistry({ mode: 'basic', users: { [ACR_USER]: REFRESH_TOKEN } });
  front = await startRegistryFront(reg, async (req, body) => {
    if (req.method !== 'POST' || req.url !== '/oauth2/exchange') return undefined;
    const form = new URLSearchParams(await body());
    exchanges.push(`${form.get('grant_type')} ${form.get('service')} ${form.get('tenant')}`);
    if (refuseExchange || form.get('access_token') !== ad.accessToken) {
      return { status: 401, body: { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required, visit https://aka.ms/acr/authorization for more information.' }] } };
    }
    return { status: 200, body: { refresh_token: REFRESH_TOKEN } };
  });
  await seedBusybox(reg);
  // MSAL talks to Azure AD over HTTPS only: the child trusts the test CA on top of the system's.
  const dir = fs.mkdtempSync(path.join(reg.workDir, 'ca-'));
  caBundle = path.join(dir, 'bundle.pem');
  const system = process.env.NODE_EXTRA_CA_CERTS && fs.existsSync(process.env.NODE_EXTRA_CA_CERTS) ? fs.readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8') : '';
  fs.writeFileSync(caBundle, `${system}\n${fs.readFileSync(reg.caFile!, 'utf8')}`);
});
after(async () => {
  await Promise.all([ad?.stop(), front?.stop()]);
  await reg?.stop();
});

/** The registry seen through the front (same storage, same CA). */
const viaFront = (): TestRegistry => ({ ...reg, host: front.host, url: `https://${front.host}` });

function azureEnv(t: { after(fn: () => void): void }, overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [front.host]: 'acr-env' } }),
    NODE_EXTRA_CA_CERTS: caBundle,
    AZURE_AUTHORITY_HOST: ad.authorityHost, AZURE_TENANT_ID: ad.tenantId, AZURE_CLIENT_ID: ad.clientId, AZURE_CLIENT_SECRET: ad.clientSecret,
    ...overrides,
  };
}

const secrets = () => [REFRESH_TOKEN, ad.accessToken, ad.clientSecret];

test('credHelpers acr-env: a service principal token exchanged for an ACR refresh token; pull and push; nothing secret in trace logs', async (t) => {
  const before = exchanges.length;
  const r = await buildThrough(t, viaFront(), 'acr/app:1', azureEnv(t));
  await assertPushed(r, reg, 'acr/app:1', secrets()); // inspected directly: same storage
  assert.deepEqual(exchanges.slice(before).map((e) => e.split(' ')), Array(2).fill(['access_token', front.host, ad.tenantId]), 'one exchange per registry session');
  assert.ok(ad.issued.every((scope) => scope.includes('https://management.azure.com/.default')), ad.issued.join(' | '));
});

test('a wrong client secret: Azure AD refuses, and the error names acr-env without printing a secret', async (t) => {
  const r = await buildThrough(t, viaFront(), 'acr/bad-secret:1', azureEnv(t, { AZURE_CLIENT_SECRET: 'wrong-client-secret-0c3d' }));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`built-in credential helper acr-env failed for ${front.host.replaceAll('.', '\\.')}: Azure AD gave no token for the service principal ${ad.clientId}`));
  assertNoSecrets(r, [...secrets(), 'wrong-client-secret-0c3d']);
});

test('a registry that refuses the Azure AD token at /oauth2/exchange fails clearly', async (t) => {
  refuseExchange = true;
  t.after(() => { refuseExchange = false; });
  const r = await buildThrough(t, viaFront(), 'acr/refused:1', azureEnv(t));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /built-in credential helper acr-env failed for .*: the registry refused the Azure AD token at \/oauth2\/exchange \(HTTP 401: UNAUTHORIZED: authentication required/);
  assertNoSecrets(r, secrets());
});

test('workload identity (AZURE_FEDERATED_TOKEN_FILE): the federated token gets the Azure AD token; a wrong one fails by name', async (t) => {
  const dir = tempDir(t, 'kiln-azure-');
  const file = path.join(dir, 'token');
  fs.writeFileSync(file, ad.federatedToken);
  const r = await buildThrough(t, viaFront(), 'acr/wi:1', azureEnv(t, { AZURE_CLIENT_SECRET: '', AZURE_FEDERATED_TOKEN_FILE: file }));
  await assertPushed(r, reg, 'acr/wi:1', [...secrets(), ad.federatedToken]);

  const wrong = path.join(dir, 'wrong');
  fs.writeFileSync(wrong, 'eyWrongFederatedToken.x.y');
  const refused = await buildThrough(t, viaFront(), 'acr/wi-refused:1', azureEnv(t, { AZURE_CLIENT_SECRET: '', AZURE_FEDERATED_TOKEN_FILE: wrong }));
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, new RegExp(`Azure AD gave no token for the workload identity ${ad.clientId}`));
  assertNoSecrets(refused, ['eyWrongFederatedToken.x.y', ad.accessToken]);
});
