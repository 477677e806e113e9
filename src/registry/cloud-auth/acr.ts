/**
 * Azure Container Registry, as docker-credential-acr-env: an Azure AD token from the environment (a service
 * principal with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH;
 * workload identity with AZURE_FEDERATED_TOKEN_FILE; else the managed identity), exchanged at the registry's
 * /oauth2/exchange for an ACR refresh token, which is the password of the all-zero user. AZURE_AUTHORITY_HOST
 * points the Azure AD requests at a sovereign cloud, Azure Stack or a test.
 */
import type { TokenCredential } from '@azure/identity';
import type { Credentials } from '../docker-config.ts';
import { helperFailed, oauthErrorSummary, oneLine, refreshAt } from './errors.ts';
import type { CloudAuthContext } from './index.ts';

/** ACR's user name for a refresh token (what `az acr login --expose-token` prints). */
const TOKEN_USERNAME = '00000000-0000-0000-0000-000000000000';
const ARM_SCOPE = 'https://management.azure.com/.default';

export async function acrCredentials(ctx: CloudAuthContext): Promise<Credentials> {
  const { credential, kind } = await azureCredential(ctx.env);
  let aadToken: string;
  try {
    const token = await credential.getToken(ARM_SCOPE);
    if (!token?.token) throw new Error('no token returned');
    aadToken = token.token;
  } catch (err) {
    // Only the managed identity is tried without configuration; its absence means there is no identity at all.
    const notFound = kind === 'managed identity' && (err as Error).name === 'CredentialUnavailableError';
    throw helperFailed('acr', ctx.registry, `Azure AD gave no token for the ${kind}: ${oneLine((err as Error).message)}`,
      'set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (a service principal), or run with workload identity (AZURE_FEDERATED_TOKEN_FILE) or a managed identity', notFound);
  }
  const form = new URLSearchParams({ grant_type: 'access_token', service: ctx.registry, access_token: aadToken });
  if (ctx.env.AZURE_TENANT_ID) form.set('tenant', ctx.env.AZURE_TENANT_ID);
  const res = await ctx.postToRegistry('/oauth2/exchange', form);
  if (res.status !== 200) {
    const summary = oauthErrorSummary(res.body) || registryErrorSummary(res.body);
    throw helperFailed('acr', ctx.registry, `the registry refused the Azure AD token at /oauth2/exchange (HTTP ${res.status}${summary ? `: ${summary}` : ''})`,
      'give the identity a role on the registry (AcrPush to push, AcrPull to pull)');
  }
  let refreshToken: unknown;
  try {
    refreshToken = (JSON.parse(res.body) as { refresh_token?: unknown }).refresh_token;
  } catch {
    // handled below
  }
  if (typeof refreshToken !== 'string' || refreshToken === '') {
    throw helperFailed('acr', ctx.registry, '/oauth2/exchange answered without a refresh_token');
  }
  const expiresAt = refreshAt(jwtExpiry(refreshToken));
  return { username: TOKEN_USERNAME, password: refreshToken, ...(expiresAt !== undefined && { expiresAt }) };
}

/** ACR refresh tokens are JWTs (about three hours); their `exp` says when to exchange again. */
function jwtExpiry(token: string): number | undefined {
  try {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function registryErrorSummary(body: string): string {
  try {
    const errors = (JSON.parse(body) as { errors?: Array<{ code?: string; message?: string }> }).errors ?? [];
    return oneLine(errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; '));
  } catch {
    return '';
  }
}

async function azureCredential(env: Record<string, string | undefined>): Promise<{ credential: TokenCredential; kind: string }> {
  const identity = await import('@azure/identity');
  const authority = env.AZURE_AUTHORITY_HOST
    // A private authority cannot be checked against the public clouds' instance list.
    ? { authorityHost: env.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true }
    : {};
  const tenant = env.AZURE_TENANT_ID;
  const clientId = env.AZURE_CLIENT_ID;
  if (tenant && clientId && env.AZURE_CLIENT_SECRET) {
    return { credential: new identity.ClientSecretCredential(tenant, clientId, env.AZURE_CLIENT_SECRET, authority), kind: `service principal ${clientId}` };
  }
  if (tenant && clientId && env.AZURE_CLIENT_CERTIFICATE_PATH) {
    const certificate = { certificatePath: env.AZURE_CLIENT_CERTIFICATE_PATH, ...(env.AZURE_CLIENT_CERTIFICATE_PASSWORD && { certificatePassword: env.AZURE_CLIENT_CERTIFICATE_PASSWORD }) };
    return { credential: new identity.ClientCertificateCredential(tenant, clientId, certificate, authority), kind: `service principal ${clientId}` };
  }
  if (tenant && clientId && env.AZURE_FEDERATED_TOKEN_FILE) {
    return {
      credential: new identity.WorkloadIdentityCredential({ tenantId: tenant, clientId, tokenFilePath: env.AZURE_FEDERATED_TOKEN_FILE, ...authority }),
      kind: `workload identity ${clientId}`,
    };
  }
  return { credential: new identity.ManagedIdentityCredential(clientId ? { clientId } : {}), kind: 'managed identity' };
}
