/**
 * A registry token server (the Docker token auth flow used by Docker Hub, GHCR, GCR, ECR): checks Basic
 * credentials (GET) or an OAuth2 password/refresh grant (POST) and issues RS256 JWTs whose `x5c` header
 * carries a certificate chaining to the CA in the registry's `rootcertbundle`.
 */
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface TokenScope {
  type: string;
  name: string;
  actions: string[];
}

/** What a request without (or with no valid) credentials may get. */
export type AnonymousAccess = 'none' | 'pull' | 'all';

export interface TokenServerOptions {
  service: string;
  issuer: string;
  /** username → password. */
  users: Record<string, string>;
  signingKeyFile: string;
  signingCertFile: string;
  /** Serve HTTPS with this certificate (default: plain HTTP). */
  tls?: { certFile: string; keyFile: string };
  /** Default 'pull'. */
  anonymous?: AnonymousAccess;
  /** Overrides the default policy (users get every action they ask for). subject is undefined for anonymous. */
  grant?: (subject: string | undefined, scope: TokenScope) => string[];
  /** Token lifetime, default 300 s. */
  ttlSeconds?: number;
  port?: number;
}

export interface TokenRequestRecord {
  method: string;
  subject: string | undefined;
  requested: TokenScope[];
  granted: TokenScope[];
  status: number;
}

export interface TokenServer {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  /** The token endpoint (what the registry announces as realm). */
  realm: string;
  service: string;
  issuer: string;
  /** Every request served, in order (lets tests count token fetches). */
  requests: TokenRequestRecord[];
  stop(): Promise<void>;
}

export function parseScope(text: string): TokenScope | undefined {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  const actions = text.slice(last + 1).split(',').filter((a) => a !== '');
  return { type: text.slice(0, first), name: text.slice(first + 1, last), actions };
}

function defaultGrant(anonymous: AnonymousAccess): (subject: string | undefined, scope: TokenScope) => string[] {
  return (subject, scope) => {
    if (subject !== undefined || anonymous === 'all') return scope.actions;
    if (anonymous === 'pull' && scope.type === 'repository') return scope.actions.filter((a) => a === 'pull');
    return [];
  };
}

function signJwt(claims: object, keyPem: string, certDerBase64: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg: 'RS256', typ: 'JWT', x5c: [certDerBase64] })}.${encode(claims)}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(keyPem).toString('base64url');
  return `${signingInput}.${signature}`;
}

function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+(\S+)$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const keyPem = readFileSync(options.signingKeyFile, 'utf8');
  const certDer = new X509Certificate(readFileSync(options.signingCertFile)).raw.toString('base64');
  const grant = options.grant ?? defaultGrant(options.anonymous ?? 'pull');
  const ttl = options.ttlSeconds ?? 300;
  const requests: TokenRequestRecord[] = [];
  const refreshTokens = new Map<string, string>();

  const issue = (subject: string | undefined, requested: TokenScope[]) => {
    const granted = requested
      .map((scope) => ({ ...scope, actions: grant(subject, scope) }))
      .filter((scope) => scope.actions.length > 0);
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt({
      iss: options.issuer, aud: options.service, sub: subject ?? '', iat: now, nbf: now - 5, exp: now + ttl,
      jti: randomBytes(16).toString('hex'), access: granted,
    }, keyPem, certDer);
    return { token, granted, issuedAt: new Date(now * 1000).toISOString() };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    if (url.pathname !== '/token') { sendJson(res, 404, { error: 'not found' }); return; }
    let params = url.searchParams;
    let subject: string | undefined;
    let valid = true;
    let refreshToken: string | undefined;
    if (req.method === 'POST') {
      params = new URLSearchParams(await readBody(req));
      const grantType = params.get('grant_type');
      if (grantType === 'password') {
        const user = params.get('username') ?? '';
        valid = options.users[user] !== undefined && options.users[user] === params.get('password');
        subject = user;
      } else if (grantType === 'refresh_token') {
        subject = refreshTokens.get(params.get('refresh_token') ?? '');
        valid = subject !== undefined;
      } else {
        valid = false;
      }
      if (valid && subject !== undefined && params.get('access_type') === 'offline') {
        refreshToken = randomBytes(24).toString('hex');
        refreshTokens.set(refreshToken, subject);
      }
    } else if (req.method === 'GET') {
      const credentials = basicCredentials(req);
      if (credentials) {
        valid = options.users[credentials.user] !== undefined
          && options.users[credentials.user] === credentials.password;
        subject = credentials.user;
      }
    } else {
      sendJson(res, 405, { error: 'method not allowed' });
      return;
    }
    const requested = params.getAll('scope').flatMap((s) => s.split(' ')).map(parseScope)
      .filter((s): s is TokenScope => s !== undefined);
    if (!valid) {
      requests.push({ method: req.method, subject, requested, granted: [], status: 401 });
      sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] },
        { 'www-authenticate': 'Basic realm="kiln-test-token"' });
      return;
    }
    const { token, granted, issuedAt } = issue(subject, requested);
    requests.push({ method: req.method, subject, requested, granted, status: 200 });
    sendJson(res, 200, {
      token, access_token: token, expires_in: ttl, issued_at: issuedAt,
      ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    });
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => sendJson(res, 500, { error: String(error) }));
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolvePromise());
  });
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    url, realm: `${url}/token`, service: options.service, issuer: options.issuer, requests,
    stop: () => new Promise<void>((resolvePromise) => {
      server.closeAllConnections();
      server.close(() => resolvePromise());
    }),
  };
}
