/**
 * Slow and broken registries: a registry that never answers, a blob body that stalls, 429 with Retry-After,
 * an interrupted build, a flaky push-permission check, and a soak of random faults (resets, 5xx, 429, cut
 * bodies) in front of the real registry — after which no manifest in the registry points at a missing blob.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { KilnError } from '../../../src/errors.ts';
import type { Image } from '../../../src/image/types.ts';
import { checkPushPermission } from '../../../src/registry/permission.ts';
import { remoteImage } from '../../../src/registry/pull.ts';
import { pushImage } from '../../../src/registry/push.ts';
import { parseReference } from '../../../src/registry/reference.ts';
import { RegistrySession } from '../../../src/registry/session.ts';
import { firstN, randomFaults, startFaultProxy, type Fault } from '../../env/fault-proxy.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { busyboxRegistry, optionsFor, variantImage } from './helpers.ts';

let registry: TestRegistry;
let layerDigest: string;
before(async () => {
  ({ registry, layerDigest } = await busyboxRegistry());
});
after(async () => {
  await registry?.stop();
});

const short = { connectMs: 1000, responseMs: 300, idleMs: 300 };

async function readAll(image: Image): Promise<number> {
  let bytes = 0;
  for (const layer of await image.layers()) {
    for await (const chunk of await layer.compressed()) bytes += (chunk as Buffer).length;
  }
  return bytes;
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<{ host: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

test('a registry that accepts connections and never answers fails after the response timeout, with retries logged', { timeout: 30_000 }, async (t) => {
  const silent = await silentServer();
  t.after(() => silent.stop());
  const opts = optionsFor(registry, { timeouts: short, imageDownloadRetry: 1, insecureRegistries: [silent.host] });
  await assert.rejects(remoteImage(parseReference(`${silent.host}/library/busybox:latest`), opts), (err: unknown) => {
    assert.ok(err instanceof KilnError, String(err));
    assert.equal(err.code, 'REGISTRY_UNREACHABLE');
    assert.match(err.message, new RegExp(`${silent.host}.*[Tt]imeout`));
    return true;
  });
  assert.ok(opts.messages.some((m) => m.includes('retrying')), opts.messages.join('\n'));
});

test('a blob body that stalls mid-way is resumed with Range after the idle timeout', { timeout: 30_000 }, async (t) => {
  const proxy = await startFaultProxy(registry.host, firstN(1, (r) => r.path.endsWith(`/blobs/${layerDigest}`), { kind: 'stall-body', afterBytes: 100_000 }));
  t.after(() => proxy.stop());
  const opts = optionsFor(registry, { timeouts: short });
  const session = new RegistrySession(opts);
  t.after(() => session.close());
  const image = await remoteImage(parseReference(`${proxy.host}/library/busybox:latest`), opts, { session });
  const bytes = await readAll(image);
  assert.equal(bytes, (await image.manifest()).layers.reduce((n, l) => n + l.size, 0));
  const gets = proxy.requests.filter((r) => r.path.endsWith(`/blobs/${layerDigest}`));
  assert.equal(gets.length, 2, JSON.stringify(proxy.requests));
  assert.equal(gets[1].range, 'bytes=100000-');
});

test('429 with Retry-After: Kiln waits as long as the registry asks before it retries', { timeout: 30_000 }, async (t) => {
  const proxy = await startFaultProxy(registry.host, firstN(1, (r) => r.path.includes('/manifests/'), { kind: 'status', status: 429, retryAfter: '1' }));
  t.after(() => proxy.stop());
  const opts = optionsFor(registry, { imageDownloadRetry: 2 });
  const image = await remoteImage(parseReference(`${proxy.host}/library/busybox:latest`), opts);
  assert.match(await image.digest(), /^sha256:/);
  assert.ok(opts.messages.some((m) => /429.*retrying in 1000 ms/.test(m)), opts.messages.join('\n'));
});

test('an abort stops a stalled blob download at once (the idle timeout is far away)', { timeout: 20_000 }, async (t) => {
  const proxy = await startFaultProxy(registry.host, firstN(1, (r) => r.path.endsWith(`/blobs/${layerDigest}`), { kind: 'stall-body', afterBytes: 1000 }));
  t.after(() => proxy.stop());
  const controller = new AbortController();
  const opts = optionsFor(registry, { imageDownloadRetry: 5, signal: controller.signal, timeouts: { connectMs: 60_000, responseMs: 600_000, idleMs: 600_000 } });
  const session = new RegistrySession(opts);
  t.after(() => session.close());
  const image = await remoteImage(parseReference(`${proxy.host}/library/busybox:latest`), opts, { session });
  const reading = readAll(image);
  await proxy.waitFor((r) => r.fault === 'stall-body');
  controller.abort(new Error('interrupted by SIGTERM'));
  await assert.rejects(reading, /interrupted by SIGTERM/);
  assert.equal(proxy.requests.filter((r) => r.path.endsWith(`/blobs/${layerDigest}`)).length, 1, 'no retry after the abort');
});

test('the push-permission check is retried like the push (--push-retry), and fails without retries', { timeout: 30_000 }, async (t) => {
  const failThree = () => firstN(3, (r) => r.method === 'POST' && r.path.includes('/blobs/uploads/'), { kind: 'status', status: 500 });
  const proxy = await startFaultProxy(registry.host, failThree());
  t.after(() => proxy.stop());
  const ref = parseReference(`${proxy.host}/perm/app:1`);
  const opts = optionsFor(registry, { pushRetry: 3 });
  await checkPushPermission(ref, opts);
  assert.equal(opts.messages.filter((m) => m.includes('checking push permission') && m.includes('retrying')).length, 3, opts.messages.join('\n'));

  proxy.setRule(failThree());
  await assert.rejects(checkPushPermission(ref, optionsFor(registry, { pushRetry: 0 })), (err: unknown) => {
    assert.ok(err instanceof KilnError);
    assert.match(err.message, /HTTP 500/);
    return true;
  });
});

/** Every manifest of every tag in the registry, and whether each blob it names is there. */
async function danglingReferences(reg: TestRegistry): Promise<string[]> {
  const json = async (path: string, accept?: string) => {
    const res = await request(`${reg.url}${path}`, { headers: accept ? { accept } : {} });
    return (await res.body.json()) as Record<string, unknown>;
  };
  const problems: string[] = [];
  const { repositories } = (await json('/v2/_catalog')) as { repositories: string[] };
  for (const repo of repositories) {
    const { tags } = (await json(`/v2/${repo}/tags/list`)) as { tags: string[] | null };
    for (const tag of tags ?? []) {
      const manifest = (await json(`/v2/${repo}/manifests/${tag}`, 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json')) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      for (const digest of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
        const head = await request(`${reg.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
        await head.body.dump();
        if (head.statusCode !== 200) problems.push(`${repo}:${tag} names ${digest}, which answers ${head.statusCode}`);
      }
    }
  }
  return problems;
}

test('random faults (resets, 5xx, 429, cut bodies): pushes and pulls succeed or fail cleanly, no manifest names a missing blob', { timeout: 120_000 }, async (t) => {
  const faults: Fault[] = [{ kind: 'reset' }, { kind: 'status', status: 500 }, { kind: 'status', status: 503 }, { kind: 'status', status: 429, retryAfter: '0' }, { kind: 'cut', afterBytes: 700 }];
  const base = await remoteImage(parseReference(`${registry.host}/library/busybox:latest`), optionsFor(registry));
  const proxy = await startFaultProxy(registry.host);
  t.after(() => proxy.stop());
  const outcomes: string[] = [];
  for (let seed = 1; seed <= 8; seed++) {
    proxy.setRule(randomFaults(seed, 0.25, faults));
    const image = await variantImage(base, (c) => ({ ...c, author: `fault round ${seed}` }));
    const opts = optionsFor(registry, { pushRetry: 4, imageDownloadRetry: 4, timeouts: short });
    const ref = parseReference(`${proxy.host}/soak/app:${seed}`);
    try {
      const pushed = await pushImage(image, [ref], opts);
      assert.equal(pushed.digest, await image.digest());
      const back = await remoteImage(ref, opts);
      assert.equal(await back.digest(), pushed.digest);
      await readAll(back);
      outcomes.push('ok');
    } catch (err) {
      assert.ok(err instanceof KilnError, `round ${seed}: not a clean error: ${String((err as Error)?.stack ?? err)}`);
      outcomes.push(err.code);
    }
  }
  assert.ok(proxy.requests.some((r) => r.fault !== undefined), 'the soak injected faults');
  assert.ok(outcomes.includes('ok'), `some rounds get through with retries: ${outcomes.join(', ')}`);
  assert.deepEqual(await danglingReferences(registry), []);
  t.diagnostic(`fault soak outcomes: ${outcomes.join(', ')}; requests ${proxy.requests.length}, faults ${proxy.requests.filter((r) => r.fault).length}`);
});
