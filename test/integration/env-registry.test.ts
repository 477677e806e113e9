// The test registry in each mode behaves like a real one: status codes, challenges, credentials, TLS, tokens,
// pushes and pulls with skopeo, and stop() leaving nothing behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { baseImageLayout, inspectImage, pushImage } from '../env/base-images.ts';
import { httpGet } from '../env/http-get.ts';
import { startRegistry, type TestRegistry } from '../env/registry.ts';
import { run } from '../env/run.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const caOf = (registry: TestRegistry) => (registry.caFile ? readFileSync(registry.caFile, 'utf8') : undefined);

function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, claims] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
  return { header, claims };
}

/** Copy an image out of `registry` into a dir: transport with the given auth file (a pull). */
async function pullWithSkopeo(registry: TestRegistry, repoRef: string, authFile: string, scratch: string): Promise<void> {
  await run('skopeo', ['--insecure-policy', 'copy', '--quiet', `--src-tls-verify=${registry.tls}`,
    ...(registry.certDir ? ['--src-cert-dir', registry.certDir] : []), '--src-authfile', authFile,
    `docker://${registry.host}/${repoRef}`, `dir:${join(scratch, `pull-${Date.now()}`)}`]);
}

function authFile(dir: string, host: string, user?: string, password?: string): string {
  const file = join(dir, `auth-${user ?? 'anonymous'}-${password ?? ''}.json`);
  const auths = user === undefined ? {} : { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } };
  writeFileSync(file, JSON.stringify({ auths }));
  return file;
}

let busybox: string;
let scratch: string;
before(async () => {
  busybox = await baseImageLayout('busybox');
  scratch = mkdtempSync(join(tmpdir(), 'kiln-env-test-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('plain registry', () => {
  let registry: TestRegistry;
  before(async () => { registry = await startRegistry({ mode: 'plain' }); });
  after(() => registry.stop());

  test('answers /v2/ with 200 over HTTP on 127.0.0.1', async () => {
    assert.match(registry.host, /^127\.0\.0\.1:\d+$/);
    assert.equal(registry.url, `http://${registry.host}`);
    const response = await httpGet(`${registry.url}/v2/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.deepEqual(JSON.parse(readFileSync(join(registry.dockerConfigDir, 'config.json'), 'utf8')), { auths: {} });
  });

  test('takes a push and serves what was pushed', async () => {
    const pushed = await pushImage(busybox, 'latest', registry, 'library/busybox:latest');
    assert.equal(pushed.reference, `${registry.host}/library/busybox:latest`);
    const info = await inspectImage(registry, 'library/busybox:latest');
    assert.equal(info.Digest, pushed.digest);
    assert.equal(info.Os, 'linux');
    assert.equal(info.Architecture, 'amd64');
    assert.equal((info.Layers as string[]).length, 1);
    const layout = JSON.parse(readFileSync(join(busybox, 'index.json'), 'utf8'));
    assert.equal(pushed.digest, layout.manifests[0].digest, 'skopeo kept the layout digest');
  });
});

describe('TLS registry', () => {
  let registry: TestRegistry;
  before(async () => { registry = await startRegistry({ mode: 'tls' }); });
  after(() => registry.stop());

  test('answers /v2/ over HTTPS trusted through the test CA only', async () => {
    assert.equal(registry.url, `https://${registry.host}`);
    assert.ok(registry.caFile && registry.certDir);
    assert.ok(existsSync(join(registry.certDir, 'ca.crt')));
    assert.equal((await httpGet(`${registry.url}/v2/`, { ca: caOf(registry) })).status, 200);
    await assert.rejects(httpGet(`${registry.url}/v2/`), /certificate/i);
  });

  test('skopeo pushes with the cert dir', async () => {
    const pushed = await pushImage(busybox, 'latest', registry, 'tls/busybox:v1');
    assert.equal((await inspectImage(registry, 'tls/busybox:v1')).Digest, pushed.digest);
  });
});

describe('basic-auth registry', () => {
  let registry: TestRegistry;
  before(async () => { registry = await startRegistry({ mode: 'basic', users: { alice: 'wonder land', bob: 'b0b' } }); });
  after(() => registry.stop());

  test('challenges with Basic, accepts every user, rejects a wrong password', async () => {
    const ca = caOf(registry);
    const anonymous = await httpGet(`${registry.url}/v2/`, { ca });
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm="[^"]+"/);
    assert.equal(registry.username, 'alice');
    assert.equal(registry.password, 'wonder land');
    for (const [user, password] of Object.entries(registry.users)) {
      assert.equal((await httpGet(`${registry.url}/v2/`, { ca, headers: { authorization: basic(user, password) } })).status, 200);
    }
    const wrong = await httpGet(`${registry.url}/v2/`, { ca, headers: { authorization: basic('alice', 'nope') } });
    assert.equal(wrong.status, 401);
  });

  test('config.json holds working credentials; skopeo push/pull with them, not without', async () => {
    const config = JSON.parse(readFileSync(join(registry.dockerConfigDir, 'config.json'), 'utf8'));
    assert.equal(Buffer.from(config.auths[registry.host].auth, 'base64').toString(), 'alice:wonder land');
    await pushImage(busybox, 'latest', registry, 'private/busybox:latest');
    await pullWithSkopeo(registry, 'private/busybox:latest', join(registry.dockerConfigDir, 'config.json'), scratch);
    await assert.rejects(
      pullWithSkopeo(registry, 'private/busybox:latest', authFile(scratch, registry.host, 'alice', 'bad'), scratch),
      /unauthorized|authentication required|invalid username/i);
  });
});

describe('token-auth registry', () => {
  let registry: TestRegistry;
  before(async () => { registry = await startRegistry({ mode: 'token' }); });
  after(() => registry.stop());

  test('challenges with Bearer realm and service of the token server', async () => {
    const response = await httpGet(`${registry.url}/v2/`, { ca: caOf(registry) });
    assert.equal(response.status, 401);
    const challenge = String(response.headers['www-authenticate']);
    assert.ok(registry.tokenServer);
    assert.ok(challenge.startsWith(`Bearer realm="${registry.tokenServer.realm}",service="${registry.tokenServer.service}"`), challenge);
  });

  test('issues signed tokens the registry accepts; refuses a wrong password', async () => {
    const ca = caOf(registry);
    const server = registry.tokenServer!;
    const scope = 'repository:team/app:pull,push';
    const url = `${server.realm}?service=${server.service}&scope=${encodeURIComponent(scope)}`;
    const response = await httpGet(url, { ca, headers: { authorization: basic(registry.username!, registry.password!) } });
    assert.equal(response.status, 200);
    const body = JSON.parse(response.body);
    assert.equal(body.token, body.access_token);
    const { header, claims } = decodeJwt(body.token);
    assert.equal(header.alg, 'RS256');
    assert.equal((header.x5c as string[]).length, 1);
    assert.equal(claims.iss, server.issuer);
    assert.equal(claims.aud, server.service);
    assert.equal(claims.sub, registry.username);
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
    const v2 = await httpGet(`${registry.url}/v2/`, { ca, headers: { authorization: `Bearer ${body.token}` } });
    assert.equal(v2.status, 200);
    const forged = `${body.token.slice(0, -4)}AAAA`;
    assert.equal((await httpGet(`${registry.url}/v2/`, { ca, headers: { authorization: `Bearer ${forged}` } })).status, 401);

    const wrong = await httpGet(url, { ca, headers: { authorization: basic(registry.username!, 'wrong') } });
    assert.equal(wrong.status, 401);
    const anonymous = JSON.parse((await httpGet(url, { ca })).body);
    assert.deepEqual(decodeJwt(anonymous.token).claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
  });

  test('OAuth2 POST: password grant with a refresh token, refresh grant, bad grants refused', async () => {
    const ca = caOf(registry);
    const server = registry.tokenServer!;
    const post = async (form: Record<string, string>) => {
      const { request } = await import('node:https');
      return new Promise<{ status: number; body: Record<string, unknown> }>((resolvePromise, reject) => {
        const req = request(server.realm, { method: 'POST', ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
        });
        req.on('error', reject);
        req.end(new URLSearchParams(form).toString());
      });
    };
    const scope = 'repository:team/app:pull';
    const first = await post({ grant_type: 'password', username: registry.username!, password: registry.password!,
      service: server.service, scope, access_type: 'offline', client_id: 'kiln' });
    assert.equal(first.status, 200);
    assert.equal(typeof first.body.refresh_token, 'string');
    assert.equal(decodeJwt(String(first.body.access_token)).claims.sub, registry.username);
    const refreshed = await post({ grant_type: 'refresh_token', refresh_token: String(first.body.refresh_token), service: server.service, scope });
    assert.equal(refreshed.status, 200);
    assert.deepEqual(decodeJwt(String(refreshed.body.access_token)).claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    assert.equal((await post({ grant_type: 'refresh_token', refresh_token: 'forged', service: server.service, scope })).status, 401);
    assert.equal((await post({ grant_type: 'password', username: registry.username!, password: 'x', service: server.service, scope })).status, 401);
  });

  test('skopeo pushes and pulls through the token flow; anonymous may pull but not push', async () => {
    const server = registry.tokenServer!;
    const pushed = await pushImage(busybox, 'latest', registry, 'team/busybox:1');
    assert.ok(server.requests.some((r) => r.subject === registry.username && r.status === 200
      && r.granted.some((s) => s.name === 'team/busybox' && s.actions.includes('push'))));
    assert.equal((await inspectImage(registry, 'team/busybox:1')).Digest, pushed.digest);
    const anonymousAuth = authFile(scratch, registry.host);
    await pullWithSkopeo(registry, 'team/busybox:1', anonymousAuth, scratch);
    await assert.rejects(run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-cert-dir', registry.certDir!,
      '--dest-authfile', anonymousAuth, `oci:${busybox}:latest`, `docker://${registry.host}/team/anonymous:1`]),
    /unauthorized|authentication required|denied/i);
    await assert.rejects(
      pullWithSkopeo(registry, 'team/busybox:1', authFile(scratch, registry.host, registry.username, 'wrong'), scratch),
      /unauthorized|401|invalid username/i);
  });
});

test('token registry with anonymous none refuses anonymous pulls', async (t) => {
  const registry = await startRegistry({ mode: 'token', anonymous: 'none', users: { ci: 'secret' } });
  t.after(() => registry.stop());
  await pushImage(busybox, 'latest', registry, 'closed/busybox:1');
  await assert.rejects(pullWithSkopeo(registry, 'closed/busybox:1', authFile(scratch, registry.host), scratch),
    /unauthorized|authentication required|denied/i);
  await pullWithSkopeo(registry, 'closed/busybox:1', join(registry.dockerConfigDir, 'config.json'), scratch);
});

test('stop() ends the registry process and removes its temp dir; a given storage dir stays', async (t) => {
  const storage = mkdtempSync(join(tmpdir(), 'kiln-env-storage-'));
  t.after(() => rmSync(storage, { recursive: true, force: true }));
  for (const mode of ['plain', 'tls', 'basic', 'token'] as const) {
    const registry = await startRegistry({ mode, dir: storage });
    assert.doesNotThrow(() => process.kill(registry.pid, 0));
    assert.ok(existsSync(registry.workDir));
    const tokenUrl = registry.tokenServer?.realm;
    await registry.stop();
    assert.throws(() => process.kill(registry.pid, 0), { code: 'ESRCH' }, `${mode} registry still running`);
    assert.equal(existsSync(registry.workDir), false);
    assert.ok(existsSync(storage));
    if (tokenUrl) await assert.rejects(httpGet(tokenUrl, { ca: readFileSync(registry.caFile!, 'utf8') }));
    await registry.stop(); // a second stop is harmless
  }
});

test('a busy fixed port fails clearly instead of hanging', async (t) => {
  const first = await startRegistry({ mode: 'plain' });
  t.after(() => first.stop());
  const port = Number(first.host.split(':')[1]);
  await assert.rejects(startRegistry({ mode: 'plain', port }), /address already in use/);
});
