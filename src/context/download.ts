/**
 * Remote downloads, shared by every remote context and source: the body streams to a `.partial` file
 * beside the destination (never a whole archive in memory), is digested on the way, renamed into place when
 * complete and removed when not; transient failures are retried; long transfers report progress.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KilnError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { redactUrl } from '../log/redact.ts';

export interface DownloadedFile {
  path: string;
  size: number;
  /** `sha256:<hex>` of the bytes written. */
  digest: string;
}

export interface ProgressOptions {
  logger?: Logger;
  /** How often a running transfer reports (ms); default 5 s. The first report waits as long. */
  progressIntervalMs?: number;
}

export interface RetryOptions {
  /** Attempts in all, the first included; default 3. */
  attempts?: number;
  /** Delay before the first retry (ms), doubled each time; default 500. */
  backoffMs?: number;
  logger?: Logger;
  signal?: AbortSignal;
}

/** An error worth another attempt: the network, a timeout, 408, 429 or a server error. */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ECONNABORTED']);

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Whether a thrown error (a network error from fetch or an SDK) is worth retrying. */
export function isTransientError(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  if (err instanceof KilnError) return false;
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
    const status = (e as { $metadata?: { httpStatusCode?: number }; statusCode?: number; code?: unknown }).$metadata?.httpStatusCode
      ?? (e as { statusCode?: number }).statusCode ?? (typeof code === 'number' ? code : undefined);
    if (typeof status === 'number' && isTransientStatus(status)) return true;
    if ((e as Error).name === 'TimeoutError' || (e as Error).message === 'terminated' || (e as Error).message === 'fetch failed') return true;
  }
  return false;
}

/** Runs `attempt` until it succeeds, fails for good, or the attempts are used up. */
export async function withRetries<T>(what: string, attempt: (n: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3;
  let delay = options.backoffMs ?? 500;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= attempts || !isTransientError(err) || options.signal?.aborted) throw err;
      options.logger?.warn(`${what} failed (${describeCause(err)}), retrying (${n}/${attempts - 1})`);
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
}

/** A short, credential-free reason for an error from fetch, an SDK or the file system. */
export function describeCause(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const msg = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: unknown }).code;
    const text = typeof code === 'string' && !msg.includes(code) ? `${msg} (${code})` : msg;
    if (text !== '' && !parts.some((p) => p.includes(text))) parts.push(text);
  }
  return parts.join(': ').split('\n')[0]!.slice(0, 300) || 'unknown error';
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** Counts bytes and reports them every interval while the transfer runs. */
function progressMeter(label: string, total: number | undefined, options: ProgressOptions): { stream: Transform; stop(): void; bytes(): number } {
  let bytes = 0;
  const interval = options.progressIntervalMs ?? 5000;
  const logger = options.logger;
  const timer = logger
    ? setInterval(() => logger.info(`Downloading ${label}: ${mib(bytes)}${total !== undefined ? ` of ${mib(total)}` : ''}`), interval)
    : undefined;
  timer?.unref();
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, stop: () => clearInterval(timer), bytes: () => bytes };
}

/**
 * Streams `body` to `file` through a `.partial` file: digested, counted, reported. On failure nothing is
 * left at either path.
 */
export async function streamToFile(body: Readable, file: string, label: string, total: number | undefined, options: ProgressOptions = {}): Promise<DownloadedFile> {
  const partial = `${file}.partial`;
  const hash = createHash('sha256');
  const meter = progressMeter(label, total, options);
  const digester = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(body, meter.stream, digester, fs.createWriteStream(partial, { mode: 0o600 }));
    if (total !== undefined && meter.bytes() !== total) {
      throw new TransientError(`short read: ${meter.bytes()} of ${total} bytes`);
    }
    fs.renameSync(partial, file);
  } catch (err) {
    fs.rmSync(partial, { force: true });
    throw err;
  } finally {
    meter.stop();
  }
  return { path: file, size: meter.bytes(), digest: `sha256:${hash.digest('hex')}` };
}

export interface HttpDownload extends DownloadedFile {
  /** The URL answered after redirects. */
  finalUrl: string;
  lastModified?: Date;
  contentDisposition?: string;
}

export interface HttpDownloadOptions extends ProgressOptions, RetryOptions {
  headers?: Record<string, string>;
  /** Abort an attempt when no byte arrives for this long (ms); default 60 s. */
  idleTimeoutMs?: number;
}

function httpError(url: string, status: number, statusText: string): Error {
  const shown = redactUrl(url);
  const message = `GET ${shown}: ${status} ${statusText}`.trim();
  if (isTransientStatus(status)) return new TransientError(message);
  const hint = status === 401 || status === 403 ? 'the server refused access: check the URL and the credentials' : status === 404 ? 'no file at this URL' : undefined;
  return new KilnError('REMOTE_DOWNLOAD_FAILED', message, hint ? { hint } : {});
}

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

/**
 * Node's fetch ignores HTTP(S)_PROXY; downloads honour them (and NO_PROXY) as kaniko's and curl's do, through
 * undici's proxy agent, loaded only when a proxy is set.
 */
async function httpFetch(url: string, init: RequestInit): Promise<Response> {
  if (!PROXY_VARIABLES.some((name) => (process.env[name] ?? '') !== '')) return fetch(url, init);
  const undici = await import('undici');
  const res = await undici.fetch(url, { ...(init as object), dispatcher: new undici.EnvHttpProxyAgent() } as Parameters<typeof undici.fetch>[1]);
  return res as unknown as Response;
}

/** Splits `https://user:pass@host/…` into a credential-free URL and an Authorization header. */
function urlCredentials(url: string): { url: string; headers: Record<string, string> } {
  const u = new URL(url);
  if (u.username === '' && u.password === '') return { url, headers: {} };
  const basic = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
  u.username = '';
  u.password = '';
  return { url: u.toString(), headers: { authorization: `Basic ${basic}` } };
}

/** Downloads an http(s) URL to `file` (redirects followed), with retries. */
export async function downloadHttp(url: string, file: string, options: HttpDownloadOptions = {}): Promise<HttpDownload> {
  const shown = redactUrl(url);
  const { url: plainUrl, headers: authHeaders } = urlCredentials(url);
  try {
    return await withRetries(`GET ${shown}`, async () => {
      const abort = new AbortController();
      const idle = options.idleTimeoutMs ?? 60_000;
      let timer = setTimeout(() => abort.abort(new TransientError(`no data for ${idle / 1000} s`)), idle);
      const onAbort = (): void => abort.abort(options.signal?.reason);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const res = await httpFetch(plainUrl, { headers: { ...authHeaders, ...options.headers }, redirect: 'follow', signal: abort.signal });
        if (!res.ok || res.body === null) {
          await res.body?.cancel();
          throw httpError(url, res.status, res.statusText);
        }
        const { Readable } = await import('node:stream');
        const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
        body.on('data', () => {
          clearTimeout(timer);
          timer = setTimeout(() => abort.abort(new TransientError(`no data for ${idle / 1000} s`)), idle);
        });
        const length = res.headers.get('content-length');
        const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
        const total = length !== null && !encoded ? Number(length) : undefined;
        const written = await streamToFile(body, file, shown, total, options);
        const lastModified = res.headers.get('last-modified');
        const disposition = res.headers.get('content-disposition');
        const when = lastModified ? new Date(lastModified) : undefined;
        return {
          ...written,
          finalUrl: res.url,
          ...(when && !Number.isNaN(when.getTime()) ? { lastModified: when } : {}),
          ...(disposition ? { contentDisposition: disposition } : {}),
        };
      } catch (err) {
        if (abort.signal.aborted && abort.signal.reason instanceof TransientError) throw abort.signal.reason;
        throw err;
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      }
    }, options);
  } catch (err) {
    if (err instanceof KilnError) throw err;
    const message = err instanceof TransientError && err.message.startsWith('GET ') ? err.message : `GET ${shown} failed: ${describeCause(err)}`;
    throw new KilnError('REMOTE_DOWNLOAD_FAILED', message, {
      hint: 'check the URL and that the server is reachable',
    });
  }
}
