/**
 * Local stand-ins for Google's OAuth2 token endpoint (the `token_uri` of a service account key or of gcloud's
 * user credentials) and the GCE
 * metadata server (GCE_METADATA_HOST). The token endpoint checks the service account's signed JWT the way
 * Google does: RS256 signature by the key, `aud` = the token URL, the cloud-platform scope.
 */
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GoogleEndpoints {
  /** http://127.0.0.1:PORT/token */
  tokenUri: string;
  /** 127.0.0.1:PORT, for GCE_METADATA_HOST. */
  metadataHost: string;
  /** The JSON of a service account key whose token_uri is ours. */
  serviceAccountKey: string;
  /** gcloud's application_default_credentials.json (authorized_user) whose token_uri is ours. */
  userCredentials: string;
  /** The access token both endpoints issue. */
  accessToken: string;
  /** Lifetime given with each token (seconds). */
  expiresIn: number;
  /** When true, the token endpoint answers 400 invalid_grant. */
  refuse: boolean;
  /** "token" / "metadata" per token issued. */
  issued: string[];
  stop(): Promise<void>;
}

export const GOOGLE_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

function readBody(req: import('node:http').IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (c: Buffer) => { text += c.toString(); });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

export async function startGoogleEndpoints(accessToken = 'ya29.kiln-test-access-token'): Promise<GoogleEndpoints> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = 'kiln-builder@kiln-test.iam.gserviceaccount.com';
  const state: GoogleEndpoints = {
    tokenUri: '', metadataHost: '', serviceAccountKey: '', userCredentials: '', accessToken, expiresIn: 3600, refuse: false, issued: [], stop: async () => {},
  };
  const answer = (res: import('node:http').ServerResponse, status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => answer(res, 500, { error: 'server_error', error_description: err.message }));
  });
  const handle = async (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST' && url.pathname === '/token') {
      const form = new URLSearchParams(await readBody(req));
      if (form.get('grant_type') === 'refresh_token') {
        const user = JSON.parse(state.userCredentials) as { client_id: string; client_secret: string; refresh_token: string };
        if (state.refuse || form.get('client_id') !== user.client_id || form.get('client_secret') !== user.client_secret || form.get('refresh_token') !== user.refresh_token) {
          answer(res, 400, { error: 'invalid_grant', error_description: 'Bad Request' });
          return;
        }
        state.issued.push('refresh');
        answer(res, 200, { access_token: state.accessToken, expires_in: state.expiresIn, token_type: 'Bearer' });
        return;
      }
      const [header, claims, signature] = (form.get('assertion') ?? '').split('.');
      const valid = form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer' && signature !== undefined &&
        createVerify('RSA-SHA256').update(`${header}.${claims}`).verify(publicKey, Buffer.from(signature, 'base64url'));
      const c = valid ? JSON.parse(Buffer.from(claims, 'base64url').toString()) as { iss?: string; aud?: string; scope?: string } : {};
      if (state.refuse || !valid || c.iss !== email || c.aud !== state.tokenUri || !c.scope?.split(' ').includes(GOOGLE_SCOPE)) {
        answer(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
        return;
      }
      state.issued.push('token');
      answer(res, 200, { access_token: state.accessToken, expires_in: state.expiresIn, token_type: 'Bearer' });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
      if (req.headers['metadata-flavor'] !== 'Google') {
        answer(res, 403, { error: 'Missing Metadata-Flavor:Google header' });
        return;
      }
      state.issued.push('metadata');
      answer(res, 200, { access_token: state.accessToken, expires_in: state.expiresIn, token_type: 'Bearer' });
      return;
    }
    answer(res, 404, { error: 'not_found' });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.tokenUri = `http://${host}/token`;
  state.metadataHost = host;
  state.serviceAccountKey = JSON.stringify({
    type: 'service_account',
    project_id: 'kiln-test',
    private_key_id: 'kiln-test-key-1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: email,
    client_id: '1234567890',
    token_uri: state.tokenUri,
  });
  state.userCredentials = JSON.stringify({
    type: 'authorized_user', client_id: '764086051850-kiln.apps.googleusercontent.com', client_secret: 'kiln-test-oauth-client-secret',
    refresh_token: '1//kiln-test-refresh-token', token_uri: state.tokenUri,
  });
  state.stop = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return state;
}
