import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
});
