/**
 * A git server over smart HTTP on 127.0.0.1: `git http-backend` (git's own CGI server side) behind a small
 * Node HTTP server that checks Basic credentials, as a Git host does. Repositories live under `root`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface GitServer {
  /** `http://127.0.0.1:PORT` (https with `tls`) */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** Directory holding the bare repositories (`NAME.git`). */
  root: string;
  /** Every request's Authorization header as received (undefined when absent) and path. */
  requests: { path: string; authorization: string | undefined }[];
  stop(): Promise<void>;
}

export interface GitServerOptions {
  /** Required Basic credentials; none = anonymous access. */
  user?: { name: string; password: string };
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

function parseCgiHeaders(head: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const key = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10);
    else headers[key] = value;
  }
  return { status, headers };
}

function serveCgi(req: http.IncomingMessage, res: http.ServerResponse, root: string, user: string | undefined): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const child = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      REMOTE_USER: user ?? '',
      REMOTE_ADDR: '127.0.0.1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  req.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let headerDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headerDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') : head.indexOf('\n\n');
    if (end < 0) return;
    const sepLength = head[end] === 0x0d ? 4 : 2;
    const { status, headers } = parseCgiHeaders(head.subarray(0, end).toString());
    res.writeHead(status, headers);
    headerDone = true;
    res.write(head.subarray(end + sepLength));
  });
  child.stderr.resume();
  child.on('close', () => {
    if (!headerDone) res.writeHead(500);
    res.end();
  });
}

export async function startGitServer(options: GitServerOptions = {}): Promise<GitServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-git-server-'));
  const requests: GitServer['requests'] = [];
  const expected = options.user ? `Basic ${Buffer.from(`${options.user.name}:${options.user.password}`).toString('base64')}` : undefined;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    if (expected !== undefined && req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="kiln-test-git"' });
      res.end('authentication required\n');
      return;
    }
    serveCgi(req, res, root, options.user?.name);
  };
  const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    root,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
