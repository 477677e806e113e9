/**
 * A small HTTP file server on 127.0.0.1 for ADD <url> and --dockerfile <url>: fixed files with a
 * Last-Modified date, redirects, 404s, a server that fails once (503) then answers, a slow server that
 * drips its body, one that stalls, and a path that wants Basic credentials. Every request is recorded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpFileServer {
  url: string;
  requests: { path: string; authorization: string | undefined }[];
  stop(): Promise<void>;
}

export interface HttpFile {
  body: Buffer | string;
  lastModified?: Date;
  /** Basic credentials required ("user:password"). */
  basic?: string;
}

export interface HttpFileServerOptions {
  files: Record<string, HttpFile>;
  /** Paths answered with a redirect to another path. */
  redirects?: Record<string, string>;
  /** Path → how many times to answer 503 before serving normally. */
  failFirst?: Record<string, number>;
  /** Path → body sent in `chunks` pieces, `delayMs` apart. */
  slow?: Record<string, { body: Buffer; chunks: number; delayMs: number }>;
  /** Paths that send headers and part of the body, then stall without closing. */
  stall?: string[];
}

export async function startHttpFileServer(options: HttpFileServerOptions): Promise<HttpFileServer> {
  const requests: HttpFileServer['requests'] = [];
  const failures = new Map(Object.entries(options.failFirst ?? {}));
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ path: p, authorization: req.headers.authorization });
    const left = failures.get(p) ?? 0;
    if (left > 0) {
      failures.set(p, left - 1);
      res.writeHead(503).end('try again\n');
      return;
    }
    const redirect = options.redirects?.[p];
    if (redirect !== undefined) {
      res.writeHead(302, { location: redirect }).end();
      return;
    }
    const slow = options.slow?.[p];
    if (slow) {
      res.writeHead(200, { 'content-length': String(slow.body.length) });
      const size = Math.ceil(slow.body.length / slow.chunks);
      let sent = 0;
      const tick = (): void => {
        res.write(slow.body.subarray(sent, sent + size));
        sent += size;
        if (sent >= slow.body.length) res.end();
        else {
          const timer = setTimeout(tick, slow.delayMs);
          timers.add(timer);
        }
      };
      tick();
      return;
    }
    if (options.stall?.includes(p)) {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      return;
    }
    const file = options.files[p];
    if (!file) {
      res.writeHead(404).end('not found\n');
      return;
    }
    if (file.basic !== undefined && req.headers.authorization !== `Basic ${Buffer.from(file.basic).toString('base64')}`) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="files"' }).end();
      return;
    }
    const body = Buffer.from(file.body);
    res.writeHead(200, {
      'content-length': String(body.length),
      ...(file.lastModified ? { 'last-modified': file.lastModified.toUTCString() } : {}),
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async stop() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
