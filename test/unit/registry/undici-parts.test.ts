import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Agent, request } from '../../../src/registry/undici-parts.ts';

describe("undici's parts loaded by path", () => {
  it('sends a request with its query to the given agent and reads the answer', async (t) => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-kiln'] ?? ''}`);
      res.writeHead(201, { 'content-type': 'text/plain' }).end('made');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agent = new Agent({ keepAliveTimeout: 1000 });
    t.after(async () => {
      await agent.close();
      server.close();
    });
    const { port } = server.address() as AddressInfo;
    const res = await request(new URL(`http://127.0.0.1:${port}/v2/x/blobs/uploads/?mount=a&from=b`), agent, { method: 'POST', headers: { 'x-kiln': 'yes' } });
    assert.equal(res.statusCode, 201);
    assert.equal(await res.body.text(), 'made');
    assert.deepEqual(seen, ['POST /v2/x/blobs/uploads/?mount=a&from=b yes']);
  });

  it("does not load undici's index (all of undici), and the CJS module cache is the one it would be in", () => {
    assert.ok(Object.keys(createRequire(import.meta.url).cache).some((file) => file.endsWith('/undici/lib/dispatcher/agent.js')));
    const index = Object.keys(createRequire(import.meta.url).cache).filter((file) => /[/\\]undici[/\\]index\.js$/.test(file));
    assert.deepEqual(index, []);
  });

  it("does not load Node's http2 (undici's HTTP/2 client gets undici's stand-in), and only while undici loads", () => {
    const parts = new URL('../../../src/registry/undici-parts.ts', import.meta.url).href;
    const script = `
      const loaded = () => process.moduleLoadList.includes('NativeModule http2');
      const { Agent } = await import(${JSON.stringify(parts)});
      const before = loaded();
      const agent = new Agent({});
      await agent.close();
      const later = (await import('node:module')).createRequire(import.meta.url)('node:http2');
      console.log(JSON.stringify({ before, after: loaded(), connect: typeof later.connect }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout), { before: false, after: true, connect: 'function' });
    assert.equal(child.stderr, '');
  });
});
