/**
 * kaniko's registry and stage flags end to end through bin/kiln: --annotation, --insecure-registry,
 * --skip-tls-verify-registry, --registry-client-cert (a registry that requires client certificates),
 * --push-ignore-immutable-tag-errors (a registry that refuses to overwrite a tag), --image-fs-extract-retry and
 * --skip-unused-stages.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { testCertificates } from '../../env/certs.ts';
import { inspectImage } from '../../env/base-images.ts';
import { startRegistryFront } from '../../env/registry-front.ts';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { seedBusybox } from '../registry/helpers.ts';
import { run } from '../../env/run.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

let plain: TestRegistry;
let tls: TestRegistry;
before(async () => {
  [plain, tls] = await Promise.all([startRegistry({ mode: 'plain' }), startRegistry({ mode: 'tls' })]);
});
after(async () => {
  await Promise.all([plain?.stop(), tls?.stop()]);
});

const scratchContext = (t: { after(fn: () => void): void }, text: string) => context(t, { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': `${text}\n` });

/** 127.0.0.1 spelled as one number: the same address under a name Kiln does not take for a local registry. */
const numericHost = (reg: TestRegistry) => `2130706433:${reg.host.split(':')[1]}`;

async function rawManifest(reg: TestRegistry, ref: string): Promise<{ annotations?: Record<string, string> }> {
  return await inspectImage(reg, ref, { raw: true }) as { annotations?: Record<string, string> };
}

test('--annotation puts manifest annotations on the pushed image and the OCI layout', async (t) => {
  const out = tempDir(t, 'kiln-out-');
  const r = await kiln(['build', '--context', scratchContext(t, 'annotated'), '--destination', `${plain.host}/annotated/app:1`,
    '--annotation', 'org.opencontainers.image.source=https://example.com/app', '--annotation=team=build',
    '--oci-layout-path', path.join(out, 'layout')]);
  assert.equal(r.status, 0, r.stderr);
  const want = { 'org.opencontainers.image.source': 'https://example.com/app', team: 'build' };
  assert.deepEqual((await rawManifest(plain, 'annotated/app:1')).annotations, want);
  const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${path.join(out, 'layout')}`]);
  assert.deepEqual((JSON.parse(stdout) as { annotations?: object }).annotations, want);
});

test('--insecure-registry: plain HTTP for that registry only; without it, HTTPS fails', async (t) => {
  const ctx = scratchContext(t, 'insecure');
  const host = numericHost(plain);
  const refused = await kiln(['build', '--context', ctx, '--destination', `${host}/insecure/app:1`]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, new RegExp(`${host}`));
  const r = await kiln(['build', '--context', ctx, '--destination', `${host}/insecure/app:1`, '--insecure-registry', host]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok((await inspectImage(plain, 'insecure/app:1')).Digest);
});

test('--skip-tls-verify-registry: that registry without its CA; another name stays verified', async (t) => {
  const ctx = scratchContext(t, 'skip-verify');
  const refused = await kiln(['build', '--context', ctx, '--destination', `${tls.host}/noverify/app:1`, '--skip-tls-verify-registry', 'other.example:5000']);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /TLS|certificate/i);
  const r = await kiln(['build', '--context', ctx, '--destination', `${tls.host}/noverify/app:1`, '--skip-tls-verify-registry', tls.host]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok((await inspectImage(tls, 'noverify/app:1')).Digest);
});

test('--registry-client-cert: a registry that requires client certificates (mTLS)', async (t) => {
  const certs = await testCertificates();
  const dir = tempDir(t, 'kiln-mtls-');
  const [key, csr, cert, ext] = ['client.key', 'client.csr', 'client.pem', 'client.ext'].map((f) => path.join(dir, f));
  fs.writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  await run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kiln-client', '-keyout', key, '-out', csr]);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', certs.caCertFile, '-CAkey', certs.caKeyFile, '-set_serial', `0x${Date.now().toString(16)}`,
    '-days', '1', '-sha256', '-extfile', ext, '-out', cert]);
  const front = await startRegistryFront(tls, () => undefined, { clientCaFile: certs.caCertFile });
  t.after(() => front.stop());
  const ctx = scratchContext(t, 'mtls');
  const common = ['build', '--context', ctx, '--destination', `${front.host}/mtls/app:1`, '--registry-certificate', `${front.host}=${certs.caCertFile}`];
  const refused = await kiln(common);
  assert.notEqual(refused.status, 0, 'no client certificate: the handshake is refused');
  const r = await kiln([...common, '--registry-client-cert', `${front.host}=${cert},${key}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok((await inspectImage(tls, 'mtls/app:1')).Digest);
});

test('--push-ignore-immutable-tag-errors: a registry refusing to overwrite a tag keeps it, and the build succeeds', async (t) => {
  let manifestPuts = 0;
  const front = await startRegistryFront(tls, (req) => {
    if (req.method !== 'PUT' || req.url !== '/v2/immutable/app/manifests/1' || manifestPuts++ === 0) return undefined;
    return { status: 400, body: { errors: [{ code: 'TAG_INVALID', message: "The image tag '1' already exists in the 'immutable/app' repository and cannot be overwritten because the repository is immutable." }] } };
  });
  t.after(() => front.stop());
  const push = (text: string, extra: string[] = []) => kiln(['build', '--context', scratchContext(t, text), '--destination', `${front.host}/immutable/app:1`,
    '--registry-certificate', `${front.host}=${tls.caFile}`, ...extra]);
  const first = await push('first');
  assert.equal(first.status, 0, first.stderr);
  const kept = (await inspectImage(tls, 'immutable/app:1')).Digest;
  const refused = await push('second');
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /TAG_INVALID/);
  const ignored = await push('third', ['--push-ignore-immutable-tag-errors']);
  assert.equal(ignored.status, 0, ignored.stderr);
  assert.equal((await inspectImage(tls, 'immutable/app:1')).Digest, kept, 'the registry still holds the first image');
});

test('--skip-unused-stages: a stage the target does not need is not built (kaniko builds every stage up to the target)', async (t) => {
  const ctx = context(t, {
    Dockerfile: 'FROM scratch AS unused\nCOPY no-such-file /x\n\nFROM scratch AS final\nCOPY a.txt /a.txt\n',
    'a.txt': 'a\n',
  });
  const out = tempDir(t, 'kiln-out-');
  const all = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'all')]);
  assert.notEqual(all.status, 0);
  assert.match(all.stderr, /no-such-file/);
  const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'skip'), '--skip-unused-stages']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(out, 'skip', 'index.json')));
});

test('--image-fs-extract-retry: a base layer whose first download is garbage is extracted again', async (t) => {
  const { digest } = await seedBusybox(tls, 'retry/busybox:latest');
  const manifest = await inspectImage(tls, 'retry/busybox:latest', { raw: true }) as { layers: Array<{ digest: string }> };
  const layerPath = `/v2/retry/busybox/blobs/${manifest.layers[0].digest}`;
  let garbled = 0;
  const front = await startRegistryFront(tls, (req) => {
    if (req.method !== 'GET' || req.url !== layerPath || garbled > 0) return undefined;
    garbled++;
    return { status: 200, body: { not: 'a layer' } };
  });
  t.after(() => front.stop());
  const ctx = context(t, { Dockerfile: `FROM ${front.host}/retry/busybox@${digest}\nCOPY a.txt /a.txt\n`, 'a.txt': 'a\n' });
  // Pushed, not written to a layout (which would start the download before the layer is extracted), and with
  // an empty layer store each time: the one download is the extraction's.
  const args = ['build', '--context', ctx, '--registry-certificate', `${front.host}=${tls.caFile}`];
  const store = () => ({ KILN_LAYER_STORE: tempDir(t, 'kiln-store-') });
  const failed = await kiln([...args, '--destination', `${plain.host}/retry/failed:1`], store());
  assert.notEqual(failed.status, 0, 'without retries the garbled layer fails the build');
  garbled = 0;
  const r = await kiln([...args, '--destination', `${plain.host}/retry/retried:1`, '--image-fs-extract-retry=1'], store());
  assert.equal(r.status, 0, r.stderr);
  assert.equal(garbled, 1);
  assert.match(r.stderr, /extracting layer sha256:[0-9a-f]{64} failed .*retrying \(1\/1\)/);
});

test('SSL_CERT_FILE and SSL_CERT_DIR make a registry\'s CA trusted (read at the first TLS connection)', async (t) => {
  await seedBusybox(tls, 'certs/busybox:latest');
  const ctx = context(t, { Dockerfile: `FROM ${tls.host}/certs/busybox:latest\nCOPY a.txt /a.txt\n`, 'a.txt': 'a\n' });
  const out = tempDir(t, 'kiln-out-');
  const certDir = tempDir(t, 'kiln-certs-');
  fs.copyFileSync(tls.caFile!, path.join(certDir, 'registry-ca.pem'));
  const build = (name: string, env: NodeJS.ProcessEnv) =>
    kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, name)], { SSL_CERT_FILE: '', SSL_CERT_DIR: '', ...env });
  const untrusted = await build('untrusted', {});
  assert.notEqual(untrusted.status, 0);
  assert.match(untrusted.stderr, /certificate|TLS/i);
  for (const [name, env] of [['file', { SSL_CERT_FILE: tls.caFile! }], ['dir', { SSL_CERT_DIR: certDir }]] as const) {
    const r = await build(name, env);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    assert.ok(fs.existsSync(path.join(out, name, 'index.json')));
  }
});

/** NODE_OPTIONS that make Kiln write to `list` every file it reads with readFileSync (an fs hook, at exit). */
function recordReadsOption(list: string): string {
  const hook = [
    "import fs from 'node:fs';",
    "import { syncBuiltinESMExports } from 'node:module';",
    'const read = fs.readFileSync; const files = new Set();',
    'fs.readFileSync = function (file, ...rest) { if (typeof file === "string") files.add(file); return read.call(this, file, ...rest); };',
    'syncBuiltinESMExports();',
    `process.on('exit', () => fs.writeFileSync(${JSON.stringify(list)}, [...files].join('\\n')));`,
  ].join('\n');
  return `--import=data:text/javascript,${encodeURIComponent(hook)}`;
}

test('a local registry that speaks plain HTTP is reached without reading SSL_CERT_FILE; a TLS one reads it', async (t) => {
  await Promise.all([seedBusybox(plain, 'certs/plain:latest'), seedBusybox(tls, 'certs/tls:latest')]);
  const out = tempDir(t, 'kiln-out-');
  const caFile = path.join(out, 'env-ca.pem');
  fs.copyFileSync(tls.caFile!, caFile);
  const build = async (registry: TestRegistry, name: string): Promise<string[]> => {
    const ctx = context(t, { Dockerfile: `FROM ${registry.host}/certs/${name}:latest\nCOPY a.txt /a.txt\n`, 'a.txt': 'a\n' });
    const list = path.join(out, `${name}.reads`);
    const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, name)],
      { SSL_CERT_FILE: caFile, SSL_CERT_DIR: '', NODE_OPTIONS: recordReadsOption(list), KILN_FROM_SOURCE: '1' });
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    return fs.readFileSync(list, 'utf8').split('\n');
  };
  const plainReads = await build(plain, 'plain');
  assert.ok(plainReads.length > 0 && !plainReads.includes(caFile), plainReads.join('\n'));
  assert.ok((await build(tls, 'tls')).includes(caFile), 'the TLS registry was verified with SSL_CERT_FILE');
});
