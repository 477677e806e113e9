/**
 * The download path every remote context and source uses, against a real HTTP server on 127.0.0.1:
 * a slow transfer reports progress and completes, a stalled one is retried and then fails naming the URL,
 * transient errors are retried, and nothing is left next to the destination.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadHttp } from '../../../src/context/download.ts';
import { KilnError } from '../../../src/errors.ts';
import { Logger } from '../../../src/log/logger.ts';
import { startHttpFileServer, type HttpFileServer } from '../../env/http-files.ts';
import { tempDir } from '../builder/kiln-process.ts';

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger({ level: 'debug', format: 'text', write: (l) => void lines.push(l) }), lines };
}

describe('remote downloads', () => {
  let web: HttpFileServer;
  const big = Buffer.alloc(3 * 1048576, 7);

  before(async () => {
    web = await startHttpFileServer({
      files: { '/ok': { body: 'ok\n' } },
      slow: { '/slow': { body: big, chunks: 12, delayMs: 100 } },
      stall: ['/stall'],
      failFirst: { '/ok': 2 },
    });
  });
  after(() => web?.stop());

  it('reports progress on a slow transfer and completes it', async (t) => {
    const dir = tempDir(t, 'kiln-dl-');
    const { logger, lines } = capture();
    const got = await downloadHttp(`${web.url}/slow`, path.join(dir, 'f'), { logger, progressIntervalMs: 250 });
    assert.equal(got.size, big.length);
    assert.deepEqual(fs.readFileSync(got.path), big);
    const progress = lines.filter((l) => /Downloading http:\/\/127\.0\.0\.1:\d+\/slow: [\d.]+ MiB of 3\.0 MiB/.test(l));
    assert.ok(progress.length >= 2, lines.join(''));
    assert.deepEqual(fs.readdirSync(dir), ['f']);
  });

  it('retries a transient failure', async (t) => {
    const dir = tempDir(t, 'kiln-dl-');
    const { logger, lines } = capture();
    const got = await downloadHttp(`${web.url}/ok`, path.join(dir, 'f'), { logger, backoffMs: 10 });
    assert.equal(fs.readFileSync(got.path, 'utf8'), 'ok\n');
    assert.equal(lines.filter((l) => /503 Service Unavailable.*retrying/.test(l)).length, 2);
  });

  it('gives up on a stalled server after the retries, naming the URL, leaving nothing behind', async (t) => {
    const dir = tempDir(t, 'kiln-dl-');
    const before = web.requests.filter((r) => r.path === '/stall').length;
    await assert.rejects(
      downloadHttp(`${web.url}/stall`, path.join(dir, 'f'), { idleTimeoutMs: 300, backoffMs: 10 }),
      (err: unknown) => err instanceof KilnError && /^GET http:\/\/127\.0\.0\.1:\d+\/stall failed: no data for 0\.3 s/.test(err.message),
    );
    assert.equal(web.requests.filter((r) => r.path === '/stall').length - before, 3);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('goes through HTTP_PROXY when it is set', async (t) => {
    const dir = tempDir(t, 'kiln-dl-');
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      http.get(req.url ?? '', { headers: req.headers }, (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      }).on('error', () => res.writeHead(502).end());
    });
    // undici tunnels through CONNECT, as it does for https targets; plain forwarding is served too.
    proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      seen.push(`CONNECT ${req.url}`);
      const [host = '', port = ''] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
    t.after(async () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    });
    process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    const got = await downloadHttp(`${web.url}/slow`, path.join(dir, 'f'));
    assert.equal(got.size, big.length);
    assert.equal(seen.length, 1);
    assert.ok([`${web.url}/slow`, `CONNECT ${web.url.slice('http://'.length)}`].includes(seen[0]!), seen[0]);
  });

  it('fails on a refused connection after its retries, with the cause', async (t) => {
    const dir = tempDir(t, 'kiln-dl-');
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(
      downloadHttp(`http://127.0.0.1:${port}/x`, path.join(dir, 'f'), { backoffMs: 10 }),
      (err: unknown) => err instanceof KilnError && new RegExp(`GET http://127\\.0\\.0\\.1:${port}/x failed: .*ECONNREFUSED`).test(err.message),
    );
  });
});
