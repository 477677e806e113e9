/**
 * HTTP to one registry: an undici Agent with keep-alive and the registry's TLS settings, requests that
 * follow redirects (dropping Authorization on the way, as blob storage redirects need), and retries
 * with exponential backoff on 429, 5xx and broken connections. Connect, response and idle timeouts turn a
 * registry that stalls into a retryable failure; the build's abort signal stops any of it at once.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { getCACertificates } from 'node:tls';
import type { Dispatcher } from 'undici';
import { KilnError } from '../errors.ts';
import { envCertificatesTrusted, trustEnvCertificates } from './env-certificates.ts';
import type { RegistryOptions } from './options.ts';
import { registryEntry, skipsTlsVerify, triesPlainHttp } from './options.ts';
import { tlsHandshakeError } from './tls-probe.ts';
import { Agent, buildConnector, request, type Connector, type ConnectorOptions } from './undici-parts.ts';

export type Direction = 'pull' | 'push';
export type Response = Dispatcher.ResponseData;
export type RequestBody = Dispatcher.DispatchOptions['body'];

export interface SendOptions {
  method: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: RequestBody;
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 5;

/** Builds the Agent for a registry: extra CA (`--registry-certificate`), client cert, skip-verify. */
export function createAgent(registry: string, opts: RegistryOptions, direction: Direction): Agent {
  const connect: Record<string, unknown> = {};
  if (skipsTlsVerify(opts, registry, direction)) connect.rejectUnauthorized = false;
  const caFile = registryEntry(opts.registryCertificates, registry);
  if (caFile) {
    // Adding a CA must not drop the usual ones (tls `ca` replaces the defaults).
    trustEnvCertificates();
    connect.ca = [...getCACertificates('default'), readConfigFile(caFile, '--registry-certificate', registry)];
  }
  const client = registryEntry(opts.registryClientCerts, registry);
  if (client) {
    connect.cert = readConfigFile(client.certFile, '--registry-client-cert', registry);
    connect.key = readConfigFile(client.keyFile, '--registry-client-cert', registry);
  }
  connect.timeout = opts.timeouts.connectMs;
  // The environment's CAs (SSL_CERT_FILE/SSL_CERT_DIR) are read when the first TLS connection is made: a
  // registry reached over plain HTTP never pays for parsing them (~30 ms for a 300-file /etc/ssl/certs), not
  // even for the HTTPS attempt made first when plain HTTP may follow (tls-probe.ts).
  const tcpOrTls = buildConnector(connect as ConnectorOptions);
  const plainHttpNext = triesPlainHttp(opts, registry, direction);
  const connector: Connector = (options, callback) => {
    if (options.protocol !== 'https:' || envCertificatesTrusted()) return tcpOrTls(options, callback);
    if (!plainHttpNext) {
      trustEnvCertificates();
      return tcpOrTls(options, callback);
    }
    tlsHandshakeError(options.hostname, Number(options.port || 443), opts.timeouts.connectMs).then((err) => {
      if (err) return callback(err, null);
      trustEnvCertificates();
      tcpOrTls(options, callback);
    }, (err: Error) => callback(err, null));
  };
  return new Agent({
    keepAliveTimeout: 30_000,
    connections: 16,
    connect: connector,
    headersTimeout: opts.timeouts.responseMs,
    bodyTimeout: opts.timeouts.idleMs,
  });
}

function readConfigFile(path: string, flag: string, registry: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new KilnError('INVALID_FLAG', `cannot read ${path} given by ${flag} for ${registry}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** One HTTP exchange, following redirects; Authorization is sent only to the original origin. */
export async function send(agent: Agent, url: string, options: SendOptions): Promise<Response> {
  let target = new URL(url);
  const origin = target.origin;
  for (let hop = 0; ; hop++) {
    const headers = { ...options.headers };
    if (target.origin !== origin) delete headers.authorization;
    const res = await request(target, agent, { method: options.method, headers, body: options.body, signal: options.signal });
    const location = res.headers.location;
    if (res.statusCode >= 300 && res.statusCode < 400 && res.statusCode !== 304 && typeof location === 'string' && hop < MAX_REDIRECTS) {
      await res.body.dump();
      target = new URL(location, target);
      continue;
    }
    return res;
  }
}

/** Statuses a retry may fix. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

const retryableCodes = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Marks an error (a KilnError for a 5xx, a cut download) as worth another attempt. */
export function markRetryable<E extends Error>(err: E): E {
  return Object.assign(err, { retryable: true });
}

/** Network failures a retry may fix (not TLS or DNS-not-found). */
export function isRetryableError(err: unknown): boolean {
  if ((err as { retryable?: unknown })?.retryable === true) return true;
  if (err instanceof KilnError) return false;
  const code = (err as { code?: string })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;
  return code !== undefined && retryableCodes.has(code);
}

export interface RetryPolicy {
  /** Extra attempts after the first. */
  retries: number;
  baseDelayMs: number;
  log: (message: string) => void;
  /** Stops the retries (and the wait between them) when the build is interrupted. */
  signal?: AbortSignal;
}

/** The longest wait a `Retry-After` header may impose before Kiln gives up on it and uses its own backoff. */
const MAX_RETRY_AFTER_MS = 60_000;

/** Records a 429/503's `Retry-After` (seconds or an HTTP date) on the error, for withRetry. */
export function withRetryAfter<E extends Error>(err: E, header: string | string[] | undefined, now = Date.now()): E {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return err;
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms >= 0 ? Object.assign(err, { retryAfterMs: Math.min(ms, MAX_RETRY_AFTER_MS) }) : err;
}

/** The delay before attempt n+1: exponential backoff, or longer where the registry asked for it. */
export function retryDelayMs(policy: RetryPolicy, n: number, err: unknown): number {
  const backoff = policy.baseDelayMs * 2 ** n;
  const asked = (err as { retryAfterMs?: unknown })?.retryAfterMs;
  return typeof asked === 'number' ? Math.max(backoff, asked) : backoff;
}

/** Runs `attempt` up to retries+1 times while it fails with a retryable error, doubling the delay. */
export async function withRetry<T>(what: string, policy: RetryPolicy, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    policy.signal?.throwIfAborted();
    try {
      return await attempt(n);
    } catch (err) {
      if (policy.signal?.aborted || n >= policy.retries || !isRetryableError(err)) throw err;
      const delay = retryDelayMs(policy, n, err);
      policy.log(`${what} failed (${describeNetworkError(err)}); retrying in ${delay} ms (${n + 1}/${policy.retries})`);
      await abortableDelay(delay, policy.signal);
    }
  }
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export async function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  // Node's timer rejects with an AbortError; callers see the signal's own reason (what interrupted the build).
  await sleep(ms, undefined, signal ? { signal } : {}).catch((err: unknown) => {
    throw signal?.aborted ? signal.reason : err;
  });
}

/** A signal that aborts when either does (a request's own and the build's). */
export function eitherSignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (!a) return b;
  if (!b) return a;
  return AbortSignal.any([a, b]);
}

/** A short reason for a network error, without URLs that could carry anything secret. */
export function describeNetworkError(err: unknown): string {
  if (err instanceof KilnError) return err.message;
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

const tlsCodes = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL|HOSTNAME_MISMATCH|wrong version number|EPROTO/i;

export function isTlsError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return [e?.code, e?.message, e?.cause?.code, e?.cause?.message].some((s) => typeof s === 'string' && tlsCodes.test(s));
}
