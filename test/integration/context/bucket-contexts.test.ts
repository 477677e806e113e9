/**
 * Bucket contexts end to end through bin/kiln against real servers on 127.0.0.1: S3 (s3rver with the AWS
 * SDK v3, S3_ENDPOINT, S3_FORCE_PATH_STYLE), Azure Blob (azurite with a connection string) and GCS (the real
 * client through STORAGE_EMULATOR_HOST, `--bucket`). Each image equals the one built from the same files
 * as a directory; a missing object, bad credentials and a file that is no tar fail naming the URL, with no
 * secret in the output and no temporary files left.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAzurite, startGcsServer, startS3Server, AZURITE_KEY, type BucketServer } from '../../env/bucket-servers.ts';
import { context, kiln, tempDir } from '../builder/kiln-process.ts';
import { imageFiles, manifestDigest } from './image-files.ts';

const FILES = {
  Dockerfile: 'FROM scratch\nCOPY . /ctx/\n',
  'a.txt': 'from a bucket\n',
  'sub/Dockerfile': 'FROM scratch\nCOPY b.txt /b.txt\n',
  'sub/b.txt': 'b\n',
};

type T = { after(fn: () => void): void };

function contextTarGz(t: T): { dir: string; archive: Buffer } {
  const dir = context(t, FILES);
  const out = path.join(tempDir(t, 'kiln-bucket-tar-'), 'context.tar.gz');
  execFileSync('tar', ['-C', dir, '-czf', out, '.']);
  return { dir, archive: fs.readFileSync(out) };
}

async function build(t: T, args: string[], env: NodeJS.ProcessEnv) {
  const out = path.join(tempDir(t, 'kiln-bucket-out-'), 'layout');
  const r = await kiln(['build', '--no-push', '--oci-layout-path', out, '--reproducible', ...args], { SOURCE_DATE_EPOCH: '1700000000', ...env });
  return { ...r, out };
}

/** The checks every store gets: equal images, --context-sub-path, errors naming the URL, nothing left behind. */
interface BadCredentials {
  env: NodeJS.ProcessEnv;
  /** Values that must not appear in the output. */
  secrets: string[];
}

function storeTests(name: string, start: () => Promise<BucketServer>, badCredentials: ((s: BucketServer) => BadCredentials) | undefined, secret: string): void {
  describe(`${name} contexts`, () => {
    let server: BucketServer;
    before(async () => {
      server = await start();
    });
    after(() => server?.stop());

    it('builds the same image as the same files in a directory, and honours --context-sub-path', async (t) => {
      const { dir, archive } = contextTarGz(t);
      await server.put('ctx', 'builds/context.tar.gz', archive);
      const remote = await build(t, ['-c', server.contextUrl('ctx', 'builds/context.tar.gz'), '--verbosity=trace'], server.env);
      assert.equal(remote.status, 0, remote.stderr);
      const local = await build(t, ['-c', dir], {});
      assert.equal(local.status, 0, local.stderr);
      assert.equal(manifestDigest(remote.out), manifestDigest(local.out));
      assert.equal((await imageFiles(remote.out)).get('ctx/a.txt')?.content, 'from a bucket\n');
      assert.equal(remote.stderr.includes(secret), false);

      const sub = await build(t, ['-c', server.contextUrl('ctx', 'builds/context.tar.gz'), '--context-sub-path', 'sub'], server.env);
      assert.equal(sub.status, 0, sub.stderr);
      assert.equal((await imageFiles(sub.out)).get('b.txt')?.content, 'b\n');
    });

    it('fails naming the URL for a missing object, bad credentials and a file that is no tar', async (t) => {
      const tmp = tempDir(t, 'kiln-bucket-tmp-');
      await server.put('ctx', 'not-a-tar.tar.gz', Buffer.from('this is not an archive\n'.repeat(100)));
      const missingUrl = server.contextUrl('ctx', 'missing.tar.gz');
      const missing = await build(t, ['-c', missingUrl], { ...server.env, TMPDIR: tmp });
      assert.equal(missing.status, 1, missing.stderr);
      assert.ok(missing.stderr.includes(`--context ${missingUrl}: not found`), missing.stderr);

      const notTarUrl = server.contextUrl('ctx', 'not-a-tar.tar.gz');
      const notTar = await build(t, ['-c', notTarUrl], { ...server.env, TMPDIR: tmp });
      assert.equal(notTar.status, 1, notTar.stderr);
      assert.ok(notTar.stderr.includes(`--context ${notTarUrl}: not a tar or tar.gz archive`), notTar.stderr);

      if (badCredentials) {
        const bad = badCredentials(server);
        const denied = await build(t, ['-c', server.contextUrl('ctx', 'builds/context.tar.gz'), '--verbosity=trace'], { ...server.env, ...bad.env, TMPDIR: tmp });
        assert.equal(denied.status, 1, denied.stderr);
        assert.ok(denied.stderr.includes(`--context ${server.contextUrl('ctx', 'builds/context.tar.gz')}: access denied`), denied.stderr);
        for (const s of bad.secrets) assert.equal(denied.stderr.includes(s), false, `${s} in ${denied.stderr}`);
      }
      assert.deepEqual(fs.readdirSync(tmp), [], 'no temporary context left');
    });
  });
}

storeTests('S3', () => startS3Server(['ctx']), () => ({
  env: { AWS_ACCESS_KEY_ID: 'WRONG-KEY-ID-0123', AWS_SECRET_ACCESS_KEY: 'wrong-secret-key-0123456789' },
  secrets: ['WRONG-KEY-ID-0123', 'wrong-secret-key-0123456789'],
}), 'S3RVER');
const WRONG_AZURE_KEY = Buffer.from('wrong-key-for-azurite-0123456789').toString('base64');
storeTests('Azure Blob', async () => startAzurite(), (s) => ({
  env: { AZURE_STORAGE_CONNECTION_STRING: (s as Awaited<ReturnType<typeof startAzurite>>).connectionString(WRONG_AZURE_KEY) },
  secrets: [WRONG_AZURE_KEY, AZURITE_KEY],
}), AZURITE_KEY);
// The GCS fake checks no credentials: the real client's error path for 401/403 is the same as for 404.
storeTests('GCS', startGcsServer, undefined, 'no-secret');

describe('--bucket', () => {
  it('names a GCS bucket whose context.tar.gz is the context (kaniko)', async (t) => {
    const gcs = await startGcsServer();
    t.after(() => gcs.stop());
    const { archive } = contextTarGz(t);
    await gcs.put('my-bucket', 'context.tar.gz', archive);
    const r = await build(t, ['--bucket', 'my-bucket'], gcs.env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await imageFiles(r.out)).get('ctx/a.txt')?.content, 'from a bucket\n');
    assert.ok(gcs.requests.some((q) => q.includes('/b/my-bucket/o/context.tar.gz')), gcs.requests.join('\n'));
  });

  it('retries a download the store answers with 503', async (t) => {
    const gcs = await startGcsServer();
    t.after(() => gcs.stop());
    const { archive } = contextTarGz(t);
    await gcs.put('my-bucket', 'context.tar.gz', archive);
    gcs.failNextDownloads(2);
    const r = await build(t, ['--bucket', 'my-bucket'], gcs.env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((r.stderr.match(/download of gs:\/\/my-bucket failed \(.*\), retrying/g) ?? []).length, 2, r.stderr);
    assert.equal(gcs.requests.filter((q) => q.includes('alt=media')).length, 3);
  });
});
