import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request, Agent } from 'undici';
import { readFileSync } from 'node:fs';
import { KilnError } from '../../../src/errors.ts';
import { checkPushPermission } from '../../../src/registry/permission.ts';
import { remoteImage } from '../../../src/registry/pull.ts';
import { pushImage } from '../../../src/registry/push.ts';
import { parseReference } from '../../../src/registry/reference.ts';
import { RegistrySession } from '../../../src/registry/session.ts';
import { inspectImage } from '../../env/base-images.ts';
import { startRegistry } from '../../env/registry.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { optionsFor, seedBusybox } from './helpers.ts';

function tempDir(t: { after: (fn: () => void) => void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function dockerConfig(dir: string, config: object): string {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

const auth = (user: string, pass: string) => ({ auth: Buffer.from(`${user}:${pass}`).toString('base64') });

function assertUnauthorized(reg: TestRegistry, repository: string, secret: string) {
  return (err: unknown) => {
    assert.ok(err instanceof KilnError, String(err));
    assert.equal(err.code, 'REGISTRY_UNAUTHORIZED');
    assert.ok(err.message.includes(`${reg.host}/${repository}`), err.message);
    assert.match(err.hint ?? '', /DOCKER_CONFIG/);
    assert.ok(!err.describe().includes(secret), 'the password must not appear in the error');
    return true;
  };
}

function repositoryStored(reg: TestRegistry, repository: string): boolean {
  return existsSync(join(reg.storageDir, 'docker/registry/v2/repositories', repository));
}

async function copyBusybox(reg: TestRegistry, to: string, session: RegistrySession, opts: ReturnType<typeof optionsFor>) {
  const image = await remoteImage(parseReference(`${reg.host}/library/busybox:latest`), opts, { session });
  return pushImage(image, [parseReference(`${reg.host}/${to}`)], opts, { session });
}

describe('basic auth registry', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ mode: 'basic' });
    await seedBusybox(reg);
  });
  after(() => reg?.stop());

  test('pull and push with config.json credentials', async (t) => {
    const opts = optionsFor(reg);
    const session = new RegistrySession(opts);
    t.after(() => session.close());
    const result = await copyBusybox(reg, 'copied:1', session, opts);
    assert.equal((await inspectImage(reg, 'copied:1')).Digest, result.digest);
  });

  test('wrong password: clear KilnError without the password, and nothing pushed', async (t) => {
    const good = optionsFor(reg);
    const session = new RegistrySession(good);
    t.after(() => session.close());
    const image = await remoteImage(parseReference(`${reg.host}/library/busybox:latest`), good, { session });
    const secret = 'wrong-secret-9f3a';
    const bad = optionsFor(reg, { dockerConfigDir: dockerConfig(tempDir(t, 'kiln-dc-'), { auths: { [reg.host]: auth('kiln', secret) } }) });
    await assert.rejects(pushImage(image, [parseReference(`${reg.host}/denied:1`)], bad), assertUnauthorized(reg, 'denied', secret));
    await assert.rejects(checkPushPermission(parseReference(`${reg.host}/denied:1`), bad), assertUnauthorized(reg, 'denied', secret));
    await assert.rejects(remoteImage(parseReference(`${reg.host}/library/busybox:latest`), bad), assertUnauthorized(reg, 'library/busybox', secret));
    assert.equal(repositoryStored(reg, 'denied'), false);
    await checkPushPermission(parseReference(`${reg.host}/allowed:1`), good);
  });

  test('no credentials at all: unauthorized', async (t) => {
    const none = optionsFor(reg, { dockerConfigDir: tempDir(t, 'kiln-dc-') });
    await assert.rejects(remoteImage(parseReference(`${reg.host}/library/busybox:latest`), none), assertUnauthorized(reg, 'library/busybox', 'kiln-test-password'));
  });

  test('credential helpers: credHelpers and credsStore run docker-credential-<name>; "not found" is anonymous', async (t) => {
    const bin = tempDir(t, 'kiln-bin-');
    const log = join(bin, 'calls.log');
    writeFileSync(join(bin, 'docker-credential-test'), `#!/bin/sh
read -r server
echo "$1 $server" >> ${log}
if [ "$1" = get ] && [ "$server" = "${reg.host}" ]; then
  printf '{"ServerURL":"%s","Username":"${reg.username}","Secret":"${reg.password}"}' "$server"
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
`);
    chmodSync(join(bin, 'docker-credential-test'), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    for (const config of [{ credHelpers: { [reg.host]: 'test' } }, { credsStore: 'test' }]) {
      const opts = optionsFor(reg, { env, dockerConfigDir: dockerConfig(tempDir(t, 'kiln-dc-'), config) });
      const image = await remoteImage(parseReference(`${reg.host}/library/busybox:latest`), opts);
      assert.match(await image.digest(), /^sha256:/);
    }
    assert.equal(readFileSync(log, 'utf8'), `get ${reg.host}\nget ${reg.host}\n`);
    // A helper that is not installed is an error that names it, not a silent anonymous pull.
    const opts = optionsFor(reg, { env, dockerConfigDir: dockerConfig(tempDir(t, 'kiln-dc-'), { credHelpers: { [reg.host]: 'missing-helper' } }) });
    await assert.rejects(remoteImage(parseReference(`${reg.host}/library/busybox:latest`), opts), (err: unknown) => {
      assert.ok(err instanceof KilnError);
      assert.equal(err.code, 'CREDENTIAL_HELPER_FAILED');
      assert.match(err.message, /docker-credential-missing-helper/);
      return true;
    });
  });

  test('a helper answering "credentials not found" means anonymous', async (t) => {
    const bin = tempDir(t, 'kiln-bin-');
    writeFileSync(join(bin, 'docker-credential-empty'), '#!/bin/sh\necho "credentials not found in native keychain"\nexit 1\n');
    chmodSync(join(bin, 'docker-credential-empty'), 0o755);
    const opts = optionsFor(reg, { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, dockerConfigDir: dockerConfig(tempDir(t, 'kiln-dc-'), { credsStore: 'empty' }) });
    await assert.rejects(remoteImage(parseReference(`${reg.host}/library/busybox:latest`), opts), assertUnauthorized(reg, 'library/busybox', 'kiln-test-password'));
  });
});

describe('token auth registry', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ mode: 'token', anonymous: 'pull' });
    await seedBusybox(reg);
  });
  after(() => reg?.stop());

  test('push to two repositories with few token requests, scoped per repository (pull on the mount source)', async (t) => {
    const opts = optionsFor(reg);
    const session = new RegistrySession(opts);
    t.after(() => session.close());
    const before = reg.tokenServer!.requests.length;
    const image = await remoteImage(parseReference(`${reg.host}/library/busybox:latest`), opts, { session });
    await image.rawConfigFile();
    for (const layer of await image.layers()) (await layer.compressed()).resume();
    const result = await pushImage(image, [parseReference(`${reg.host}/team/a:1`), parseReference(`${reg.host}/team/b:1`)], opts, { session });
    const made = reg.tokenServer!.requests.slice(before);
    assert.ok(made.length <= 3, `expected ≤ 3 token requests, got ${made.length}`);
    assert.ok(made.every((r) => r.status === 200 && r.subject === reg.username));
    const scopes = made.map((r) => r.requested.map((s) => `${s.name}:${s.actions.join(',')}`).sort().join(' '));
    assert.ok(scopes.includes('library/busybox:pull team/a:pull,push'), scopes.join(' | '));
    assert.ok(scopes.includes('team/a:pull team/b:pull,push'), scopes.join(' | '));
    assert.ok(result.blobs.mounted >= 1, JSON.stringify(result.blobs));
    assert.equal((await inspectImage(reg, 'team/b:1')).Digest, result.digest);
  });

  test('identity token (refresh_token grant) from config.json', async (t) => {
    const dispatcher = new Agent({ connect: { ca: readFileSync(reg.caFile!, 'utf8') } });
    t.after(() => dispatcher.close());
    const form = new URLSearchParams({ grant_type: 'password', username: reg.username!, password: reg.password!, service: reg.tokenServer!.service, access_type: 'offline', client_id: 'test' });
    const res = await request(reg.tokenServer!.realm, { method: 'POST', body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, dispatcher });
    const { refresh_token: refreshToken } = (await res.body.json()) as { refresh_token: string };
    assert.ok(refreshToken);
    const opts = optionsFor(reg, { dockerConfigDir: dockerConfig(tempDir(t, 'kiln-dc-'), { auths: { [reg.host]: { identitytoken: refreshToken } } }) });
    const before = reg.tokenServer!.requests.length;
    await checkPushPermission(parseReference(`${reg.host}/via-refresh:1`), opts);
    const made = reg.tokenServer!.requests.slice(before);
    assert.ok(made.length >= 1 && made.every((r) => r.method === 'POST' && r.subject === reg.username && r.status === 200));
  });

  test('anonymous: pull works, push is refused before any blob is written', async (t) => {
    const opts = optionsFor(reg, { dockerConfigDir: tempDir(t, 'kiln-dc-') });
    const image = await remoteImage(parseReference(`${reg.host}/library/busybox:latest`), opts);
    assert.match(await image.digest(), /^sha256:/);
    await assert.rejects(checkPushPermission(parseReference(`${reg.host}/anon:1`), opts), assertUnauthorized(reg, 'anon', 'kiln-test-password'));
    await assert.rejects(pushImage(image, [parseReference(`${reg.host}/anon:1`)], opts), assertUnauthorized(reg, 'anon', 'kiln-test-password'));
    assert.equal(repositoryStored(reg, 'anon'), false);
  });

  test('wrong password at the token server: REGISTRY_UNAUTHORIZED without the password', async (t) => {
    const secret = 'bad-token-pass-77';
    const opts = optionsFor(reg, { dockerConfigDir: dockerConfig(tempDir(t, 'kiln-dc-'), { auths: { [reg.host]: auth('kiln', secret) } }) });
    await assert.rejects(remoteImage(parseReference(`${reg.host}/library/busybox:latest`), opts), assertUnauthorized(reg, 'library/busybox', secret));
  });
});

describe('TLS registry', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ mode: 'tls' });
    await seedBusybox(reg);
  });
  after(() => reg?.stop());

  test('an unknown CA is REGISTRY_TLS with a hint; --registry-certificate or skip-verify fix it', async () => {
    const ref = parseReference(`${reg.host}/library/busybox:latest`);
    await assert.rejects(remoteImage(ref, optionsFor(reg, { registryCertificates: {} })), (err: unknown) => {
      assert.ok(err instanceof KilnError);
      assert.equal(err.code, 'REGISTRY_TLS');
      assert.match(err.hint ?? '', /--registry-certificate/);
      assert.match(err.hint ?? '', /--skip-tls-verify/);
      return true;
    });
    assert.match(await (await remoteImage(ref, optionsFor(reg))).digest(), /^sha256:/);
    const skip = optionsFor(reg, { registryCertificates: {}, skipTlsVerifyPull: true });
    assert.match(await (await remoteImage(ref, skip)).digest(), /^sha256:/);
  });
});
