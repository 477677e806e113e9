/**
 * Authenticated requests to one registry: the `/v2/` ping that picks the scheme and learns the
 * challenge, Basic auth, and the Bearer token flow (token per scope set, refreshed on 401).
 */
import type { Agent } from 'undici';
import { KilnError } from '../errors.ts';
import { parseChallenges, pickChallenge } from './challenge.ts';
import type { Challenge } from './challenge.ts';
import type { Credentials } from './docker-config.ts';
import { httpError, networkError, readErrorBody, unauthorizedError } from './errors.ts';
import type { ErrorContext } from './errors.ts';
import { retryPolicyOf, triesPlainHttp } from './options.ts';
import { apiHost } from './reference.ts';
import type { RegistrySession } from './session.ts';
import { eitherSignal, isRetryableError, isRetryableStatus, isTlsError, send, withRetry } from './transport.ts';
import type { Direction, RequestBody, Response } from './transport.ts';

interface PingResult {
  baseUrl: string;
  challenge?: Challenge;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Path starting with /v2/, or an absolute URL (upload locations). */
  path: string;
  /** Token scopes this request needs. */
  scopes: string[];
  headers?: Record<string, string>;
  /** A re-sendable body (string/Buffer) may be retried after a 401; a stream may not. */
  body?: RequestBody;
  signal?: AbortSignal;
}

const TOKEN_MIN_LIFETIME_S = 60;

export class RegistryClient {
  readonly registry: string;
  readonly direction: Direction;
  readonly agent: Agent;
  readonly #session: RegistrySession;
  #ping: Promise<PingResult> | undefined;
  readonly #tokens = new Map<string, Promise<CachedToken>>();

  constructor(registry: string, direction: Direction, agent: Agent, session: RegistrySession) {
    this.registry = registry;
    this.direction = direction;
    this.agent = agent;
    this.#session = session;
  }

  get opts() {
    return this.#session.opts;
  }

  /** Sends a request with authorization; on 401 refreshes the token once and resends when it can. */
  async request(req: RegistryRequest, ctx: ErrorContext): Promise<Response> {
    const ping = await this.ping(ctx);
    const url = /^https?:\/\//.test(req.path) ? req.path : `${ping.baseUrl}${req.path}`;
    const resendable = req.body === undefined || typeof req.body === 'string' || Buffer.isBuffer(req.body);
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.authorization(req.scopes, ctx, attempt > 0);
      let res: Response;
      try {
        res = await send(this.agent, url, {
          method: req.method,
          headers: { ...req.headers, ...(authorization && { authorization }) },
          body: req.body,
          signal: eitherSignal(req.signal, this.opts.signal),
        });
      } catch (err) {
        this.opts.signal?.throwIfAborted();
        throw networkError(ctx, err, isRetryableError(err));
      }
      if (res.statusCode !== 401 || attempt > 0 || !resendable) return res;
      // A registry may answer /v2/ anonymously and still want auth for a repository: learn its challenge.
      const header = res.headers['www-authenticate'];
      const challenge = typeof header === 'string' ? pickChallenge(parseChallenges(header)) : undefined;
      if (challenge) ping.challenge = challenge;
      if (!ping.challenge) return res;
      await res.body.dump();
    }
  }

  /** Like request(), then throws a KilnError unless the status is one of `ok`. */
  async expect(req: RegistryRequest, ctx: ErrorContext, ok: number[], kind: 'manifest' | 'blob' | 'other' = 'other'): Promise<Response> {
    const res = await this.request(req, ctx);
    if (!ok.includes(res.statusCode)) throw await httpError(ctx, res, kind);
    return res;
  }

  /** GET /v2/ once per session: picks https or http and records the auth challenge. */
  ping(ctx: ErrorContext): Promise<PingResult> {
    this.#ping ??= withRetry(`contacting ${this.registry}`, this.#retryPolicy(), () => this.#pingOnce(ctx)).catch((err) => {
      this.#ping = undefined;
      throw err;
    });
    return this.#ping;
  }

  async #pingOnce(ctx: ErrorContext): Promise<PingResult> {
    const host = apiHost(this.registry);
    const schemes = triesPlainHttp(this.opts, this.registry, this.direction) ? ['https', 'http'] : ['https'];
    let firstError: unknown;
    for (const scheme of schemes) {
      const baseUrl = `${scheme}://${host}`;
      let res: Response;
      try {
        res = await send(this.agent, `${baseUrl}/v2/`, { method: 'GET', signal: this.opts.signal });
      } catch (err) {
        this.opts.signal?.throwIfAborted();
        // Plain HTTP reached the server and the connection broke: that, not the HTTPS attempt, is the story.
        if (scheme === 'http' && firstError !== undefined && isRetryableError(err)) throw networkError(ctx, err, true);
        firstError ??= err;
        continue;
      }
      if (res.statusCode === 401) {
        const header = res.headers['www-authenticate'];
        await res.body.dump();
        const challenge = typeof header === 'string' ? pickChallenge(parseChallenges(header)) : undefined;
        return { baseUrl, ...(challenge && { challenge }) };
      }
      if (res.statusCode >= 200 && res.statusCode < 300) {
        await res.body.dump();
        return { baseUrl };
      }
      // An HTTPS request to a plain HTTP server may get a 400 back: try the next scheme.
      if (scheme === 'https' && schemes.length > 1 && res.statusCode === 400) {
        await res.body.dump();
        continue;
      }
      // A busy or failing registry (429, 5xx) is worth another try, whichever scheme answered.
      if (isRetryableStatus(res.statusCode)) throw await httpError({ ...ctx, action: 'checking the registry API (/v2/)' }, res);
      // HTTPS failed (say, on a certificate) and HTTP got nonsense: the HTTPS reason is the useful one.
      if (firstError !== undefined) {
        await res.body.dump();
        break;
      }
      throw await httpError({ ...ctx, action: 'checking the registry API (/v2/)' }, res);
    }
    // Prefer the TLS reason when the HTTPS attempt failed on a certificate.
    throw networkError(ctx, firstError, isRetryableError(firstError) && !isTlsError(firstError));
  }

  #retryPolicy() {
    return retryPolicyOf(this.opts, this.direction);
  }

  /** The Authorization header value for these scopes, if the registry wants one. */
  async authorization(scopes: string[], ctx: ErrorContext, refresh = false): Promise<string | undefined> {
    const ping = await this.ping(ctx);
    const challenge = ping.challenge;
    if (!challenge) return undefined;
    const creds = await this.#session.credentials(this.registry);
    // The caller builds its error from this same context: a refusal then names where the credentials came from.
    if (creds.origin) ctx.credentialOrigin = creds.origin;
    if (challenge.scheme === 'basic') {
      if (creds.username === undefined && creds.password === undefined) return undefined;
      return `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
    }
    if (creds.registryToken) return `Bearer ${creds.registryToken}`;
    const key = [...scopes].sort().join(' ');
    let cached = this.#tokens.get(key);
    if (cached && !refresh) {
      const token = await cached.catch(() => undefined);
      if (token && token.expiresAt > Date.now()) return `Bearer ${token.token}`;
    }
    cached = this.#fetchToken(challenge, scopes, creds, ctx);
    this.#tokens.set(key, cached);
    cached.catch(() => this.#tokens.delete(key));
    return `Bearer ${(await cached).token}`;
  }

  async #fetchToken(challenge: Challenge, scopes: string[], creds: Credentials, ctx: ErrorContext): Promise<CachedToken> {
    const realm = challenge.params.realm;
    if (!realm) throw unauthorizedError(ctx, 401, 'the registry sent a Bearer challenge without a realm');
    const service = challenge.params.service;
    const tokenCtx = { ...ctx, action: `${ctx.action} (getting a token from ${new URL(realm).host})` };
    let res: Response;
    try {
      res = await withRetry(`getting a token for ${this.registry}`, this.#retryPolicy(), async () => {
        const r = creds.identityToken ? await this.#postRefreshToken(realm, service, scopes, creds.identityToken) : await this.#getToken(realm, service, scopes, creds);
        if (r.statusCode === 429 || r.statusCode >= 500) throw await httpError(tokenCtx, r);
        return r;
      });
    } catch (err) {
      this.opts.signal?.throwIfAborted();
      throw err instanceof KilnError ? err : networkError(tokenCtx, err, false);
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      const detail = await readErrorBody(res);
      throw unauthorizedError(ctx, res.statusCode, detail || 'the token server rejected the credentials');
    }
    if (res.statusCode !== 200) throw await httpError(tokenCtx, res);
    const body = (await res.body.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token || body.access_token;
    if (!token) throw unauthorizedError(ctx, 401, 'the token server answered without a token');
    const lifetime = Math.max(body.expires_in ?? TOKEN_MIN_LIFETIME_S, TOKEN_MIN_LIFETIME_S);
    return { token, expiresAt: Date.now() + (lifetime - 10) * 1000 };
  }

  #getToken(realm: string, service: string | undefined, scopes: string[], creds: Credentials): Promise<Response> {
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = {};
    if (creds.username !== undefined || creds.password !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
    }
    return send(this.agent, url.toString(), { method: 'GET', headers, signal: this.opts.signal });
  }

  #postRefreshToken(realm: string, service: string | undefined, scopes: string[], refreshToken: string): Promise<Response> {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'kiln' });
    if (service) form.set('service', service);
    if (scopes.length > 0) form.set('scope', scopes.join(' '));
    return send(this.agent, realm, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      signal: this.opts.signal,
    });
  }
}
