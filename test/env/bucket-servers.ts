/**
 * Object stores on 127.0.0.1 for bucket contexts: s3rver (an S3 implementation, npm), azurite (Microsoft's
 * Azure Storage emulator, npm) and, for Google Cloud Storage where no emulator is packaged, a minimal
 * server of the JSON API's object metadata and media download, used by the real client through
 * STORAGE_EMULATOR_HOST. Each `put` stores an object the way a user would upload it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface BucketServer {
  /** Environment that points Kiln (and the SDKs) at this server with valid credentials. */
  env: NodeJS.ProcessEnv;
  /** The context URL of an object. */
  contextUrl(bucket: string, key: string): string;
  put(bucket: string, key: string, body: Buffer): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export const S3_KEYS = { id: 'S3RVER', secret: 'S3RVER' };

export async function startS3Server(buckets: string[]): Promise<BucketServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-s3rver-'));
  const { default: S3rver } = await import('s3rver');
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name })) });
  const address = (await server.run()) as net.AddressInfo;
  const endpoint = `http://127.0.0.1:${address.port}`;
  const env = {
    S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true', AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: S3_KEYS.id, AWS_SECRET_ACCESS_KEY: S3_KEYS.secret,
    AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true',
  };
  return {
    env,
    contextUrl: (bucket, key) => `s3://${bucket}/${key}`,
    async put(bucket, key, body) {
      const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
      const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: S3_KEYS.id, secretAccessKey: S3_KEYS.secret } });
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      client.destroy();
    },
    async stop() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Azurite's well-known development account. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export async function startAzurite(): Promise<BucketServer & { connectionString(key?: string): string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-azurite-'));
  const port = await freePort();
  const bin = path.resolve(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'azurite-blob');
  const child: ChildProcess = spawn(bin, ['--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', dir, '--silent', '--disableTelemetry', '--skipApiVersionCheck'], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 200 || child.exitCode !== null) throw new Error('azurite did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const connectionString = (key = AZURITE_KEY): string =>
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${key};BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;
  return {
    env: { AZURE_STORAGE_CONNECTION_STRING: connectionString() },
    connectionString,
    contextUrl: (container, key) => `https://${AZURITE_ACCOUNT}.blob.core.windows.net/${container}/${key}`,
    async put(container, key, body) {
      const { BlobServiceClient } = await import('@azure/storage-blob');
      const c = BlobServiceClient.fromConnectionString(connectionString()).getContainerClient(container);
      await c.createIfNotExists();
      await c.getBlockBlobClient(key).uploadData(body);
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The part of the GCS JSON API that reading one object uses: metadata and `alt=media`. */
export async function startGcsServer(): Promise<BucketServer & { requests: string[]; failNextDownloads(n: number): void }> {
  const objects = new Map<string, Buffer>();
  const requests: string[] = [];
  let failures = 0;
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${u.pathname}${u.search}`);
    if (failures > 0 && u.searchParams.get('alt') === 'media') {
      failures--;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 503, message: 'Backend Error', errors: [{ reason: 'backendError', message: 'Backend Error' }] } }));
      return;
    }
    const m = /^(?:\/download)?(?:\/storage\/v1)?\/b\/([^/]+)\/o\/(.+)$/.exec(u.pathname);
    const name = m ? decodeURIComponent(m[2]!) : '';
    const body = m ? objects.get(`${m[1]}/${name}`) : undefined;
    if (!m || body === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 404, message: 'No such object', errors: [{ reason: 'notFound', message: 'No such object' }] } }));
      return;
    }
    if (u.searchParams.get('alt') === 'media') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'storage#object', bucket: m[1], name, size: String(body.length) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    env: { STORAGE_EMULATOR_HOST: url },
    requests,
    failNextDownloads(n) {
      failures = n;
    },
    contextUrl: (bucket, key) => `gs://${bucket}/${key}`,
    async put(bucket, key, body) {
      objects.set(`${bucket}/${key}`, body);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
