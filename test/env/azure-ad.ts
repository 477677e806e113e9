/**
 * A local stand-in for Azure AD (AZURE_AUTHORITY_HOST): the OpenID configuration MSAL reads and the v2.0 token
 * endpoint's client_credentials grant for one service principal (by secret, or by a federated token as workload
 * identity sends it), over HTTPS with the test CA (MSAL requires
 * an https authority).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { testCertificates } from './certs.ts';
import { readBody } from './registry-front.ts';

export interface AzureAd {
  /** https://127.0.0.1:PORT, for AZURE_AUTHORITY_HOST. */
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The Kubernetes service account token Azure AD accepts for workload identity (AZURE_FEDERATED_TOKEN_FILE). */
  federatedToken: string;
  /** The access token issued to the service principal. */
  accessToken: string;
  /** Scopes asked for, per token issued. */
  issued: string[];
  stop(): Promise<void>;
}

export async function startAzureAd(): Promise<AzureAd> {
  const certs = await testCertificates();
  const state: AzureAd = {
    authorityHost: '', tenantId: '72f988bf-0000-4000-8000-000000000001', clientId: 'a1b2c3d4-0000-4000-8000-000000000002',
    clientSecret: 'kiln-test-client-secret-5d2f', federatedToken: 'eyKilnFederatedToken.payload.signature', accessToken: 'eyKilnTestAadAccessToken.payload.signature', issued: [], stop: async () => {},
  };
  const server = createServer({ cert: readFileSync(certs.serverCertFile), key: readFileSync(certs.serverKeyFile) }, (req, res) => {
    const answer = (status: number, body: object) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const url = new URL(req.url ?? '/', state.authorityHost);
    const base = `${state.authorityHost}/${state.tenantId}`;
    if (req.method === 'GET' && url.pathname === `/${state.tenantId}/v2.0/.well-known/openid-configuration`) {
      answer(200, {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        issuer: `${base}/v2.0`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      });
      return;
    }
    if (req.method === 'POST' && url.pathname === `/${state.tenantId}/oauth2/v2.0/token`) {
      readBody(req).then((text) => {
        const form = new URLSearchParams(text);
        // A service principal's secret, or workload identity's federated token as the client assertion.
        const secretOk = form.get('client_secret') === state.clientSecret;
        const assertionOk = form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' &&
          form.get('client_assertion') === state.federatedToken;
        if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== state.clientId || !(secretOk || assertionOk)) {
          answer(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
          return;
        }
        state.issued.push(form.get('scope') ?? '');
        answer(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: state.accessToken });
      }, () => res.destroy());
      return;
    }
    answer(404, { error: 'not_found', error_description: `${req.method} ${url.pathname}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.authorityHost = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.stop = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return state;
}
