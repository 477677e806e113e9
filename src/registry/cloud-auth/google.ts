/**
 * Google (gcr.io, Artifact Registry): an OAuth2 access token as the password of `oauth2accesstoken`, from the
 * first of: the key file in GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default credentials, the
 * metadata server (GCE, GKE workload identity; GCE_METADATA_HOST points elsewhere). Like Go's
 * golang.org/x/oauth2/google (what docker-credential-gcr and kaniko use), a key file's `token_uri` is honoured.
 */
import { createSign } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Credentials } from '../docker-config.ts';
import { helperFailed, oauthErrorSummary, oneLine, refreshAt } from './errors.ts';
import type { CloudAuthContext } from './index.ts';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const DEFAULT_METADATA_HOST = '169.254.169.254';
/** Resolves on Google Cloud only (what Go's metadata.OnGCE checks too). */
const METADATA_NAME = 'metadata.google.internal';
const USERNAME = 'oauth2accesstoken';
const REQUEST_TIMEOUT_MS = 30_000;
/** The metadata server answers in milliseconds where it exists; off Google Cloud nothing answers at all. */
const METADATA_PROBE_TIMEOUT_MS = 1_500;

interface AccessToken {
  token: string;
  expiresInSeconds: number;
}

interface KeyFile {
  type?: string;
  client_email?: string;
  private_key?: string;
  private_key_id?: string;
  token_uri?: string;
  client_id?: string;
  client_secret?: string;
  refresh_token?: string;
}

export async function googleCredentials(ctx: CloudAuthContext): Promise<Credentials> {
  const start = Date.now();
  const { token, expiresInSeconds } = await accessToken(ctx);
  const expiresAt = refreshAt(start + expiresInSeconds * 1000, start);
  return { username: USERNAME, password: token, ...(expiresAt !== undefined && { expiresAt }) };
}

/** gcloud's ADC file: $CLOUDSDK_CONFIG/application_default_credentials.json, else ~/.config/gcloud/…. */
export function gcloudAdcPath(env: Record<string, string | undefined>): string {
  const dir = env.CLOUDSDK_CONFIG || join(env.HOME || homedir(), '.config', 'gcloud');
  return join(dir, 'application_default_credentials.json');
}

async function accessToken(ctx: CloudAuthContext): Promise<AccessToken> {
  const keyPath = ctx.env.GOOGLE_APPLICATION_CREDENTIALS;
  if (keyPath) return fromKeyFile(ctx, keyPath, 'GOOGLE_APPLICATION_CREDENTIALS');
  const adc = gcloudAdcPath(ctx.env);
  if (existsSync(adc)) return fromKeyFile(ctx, adc, "gcloud's application default credentials");
  return fromMetadataServer(ctx);
}

function readKeyFile(ctx: CloudAuthContext, path: string, what: string): KeyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw helperFailed('google', ctx.registry, `cannot read the key file named by ${what} (${path}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as KeyFile;
  } catch {
    throw helperFailed('google', ctx.registry, `the key file named by ${what} (${path}) is not JSON`);
  }
}

async function fromKeyFile(ctx: CloudAuthContext, path: string, what: string): Promise<AccessToken> {
  const key = readKeyFile(ctx, path, what);
  if (key.type === 'service_account') {
    if (!key.client_email || !key.private_key) {
      throw helperFailed('google', ctx.registry, `the service account key ${path} lacks client_email or private_key`);
    }
    const tokenUri = key.token_uri || DEFAULT_TOKEN_URI;
    const assertion = signedAssertion(key.client_email, key.private_key, key.private_key_id, tokenUri);
    return tokenRequest(ctx, tokenUri, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
  }
  if (key.type === 'authorized_user') {
    if (!key.client_id || !key.client_secret || !key.refresh_token) {
      throw helperFailed('google', ctx.registry, `the user credentials ${path} lack client_id, client_secret or refresh_token`);
    }
    return tokenRequest(ctx, key.token_uri || DEFAULT_TOKEN_URI, {
      grant_type: 'refresh_token', client_id: key.client_id, client_secret: key.client_secret, refresh_token: key.refresh_token,
    });
  }
  throw helperFailed('google', ctx.registry, `the credentials file ${path} has type "${key.type ?? ''}", which is not supported`,
    'use a service account key (type service_account), gcloud auth application-default login (authorized_user), or the metadata server (GKE workload identity)');
}

/** The JWT of RFC 7523 that a service account signs to ask for a token. */
function signedAssertion(email: string, privateKey: string, keyId: string | undefined, audience: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(keyId && { kid: keyId }) };
  const claims = { iss: email, scope: SCOPE, aud: audience, iat: now, exp: now + 3600 };
  const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(privateKey);
  return `${unsigned}.${signature.toString('base64url')}`;
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

async function tokenRequest(ctx: CloudAuthContext, tokenUri: string, form: Record<string, string>): Promise<AccessToken> {
  const where = new URL(tokenUri).host;
  let res: Response;
  try {
    res = await fetch(tokenUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    throw helperFailed('google', ctx.registry, `cannot reach the token endpoint ${where}: ${networkReason(err)}`);
  }
  return parseTokenResponse(ctx, res, `the token endpoint ${where}`);
}

async function fromMetadataServer(ctx: CloudAuthContext): Promise<AccessToken> {
  const configured = ctx.env.GCE_METADATA_HOST;
  const host = configured || DEFAULT_METADATA_HOST;
  const timeout = configured || !ctx.automatic ? REQUEST_TIMEOUT_MS : METADATA_PROBE_TIMEOUT_MS;
  let res: Response;
  try {
    // Off Google Cloud (a public gcr.io pull, mirror.gcr.io) the name does not resolve: no wait on the address.
    if (!configured && ctx.automatic) await lookup(METADATA_NAME);
    res = await fetch(`http://${host}/computeMetadata/v1/instance/service-accounts/default/token`, {
      headers: { 'metadata-flavor': 'Google' },
      signal: AbortSignal.timeout(timeout),
    });
  } catch (err) {
    throw helperFailed('google', ctx.registry,
      `no Google credentials found: GOOGLE_APPLICATION_CREDENTIALS is not set, there is no ${gcloudAdcPath(ctx.env)}, and the metadata server ${host} did not answer (${networkReason(err)})`,
      'set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, or run on Google Cloud with a service account (GKE: workload identity)', true);
  }
  return parseTokenResponse(ctx, res, `the metadata server ${host}`);
}

async function parseTokenResponse(ctx: CloudAuthContext, res: Response, from: string): Promise<AccessToken> {
  const text = await res.text();
  if (!res.ok) {
    const summary = oauthErrorSummary(text);
    throw helperFailed('google', ctx.registry, `${from} refused to issue a token (HTTP ${res.status}${summary ? `: ${summary}` : ''})`);
  }
  let body: { access_token?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw helperFailed('google', ctx.registry, `${from} answered with something that is not JSON`);
  }
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw helperFailed('google', ctx.registry, `${from} answered without an access_token`);
  }
  const expires = Number(body.expires_in);
  return { token: body.access_token, expiresInSeconds: Number.isFinite(expires) && expires > 0 ? expires : 3600 };
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  return oneLine(cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)));
}
