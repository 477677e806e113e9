/**
 * `s3://bucket/key.tar.gz` contexts with the AWS SDK v3: the SDK's standard credential chain (environment,
 * shared config and credentials files, SSO, web identity, container and instance roles), AWS_REGION, and
 * kaniko's S3_ENDPOINT and S3_FORCE_PATH_STYLE for S3-compatible stores (MinIO, Ceph, …).
 */
import type { Readable } from 'node:stream';
import { KilnError } from '../errors.ts';
import { fetchArchiveContext, parseBucketUrl } from './archive-context.ts';
import type { RemoteContextProvider } from './remote-context.ts';

function classify(url: string, err: unknown): KilnError | undefined {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  if (name === 'NoSuchKey' || name === 'NoSuchBucket' || status === 404) {
    return new KilnError('REMOTE_CONTEXT_NOT_FOUND', `--context ${url}: not found (${name})`, { hint: 'check the bucket and the key' });
  }
  if (status === 403 || status === 401 || /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|CredentialsProviderError|ExpiredToken/.test(name)) {
    return new KilnError('REMOTE_CONTEXT_DENIED', `--context ${url}: access denied (${name})`, {
      hint: 'check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a role) and the bucket policy',
    });
  }
  if (/Region is missing/i.test(e.message ?? '')) {
    return new KilnError('REMOTE_CONTEXT_FAILED', `--context ${url}: no AWS region`, { hint: 'set AWS_REGION' });
  }
  return undefined;
}

export const s3Context: RemoteContextProvider = {
  async fetchContext(req) {
    const url = req.source.url;
    const { bucket, key } = parseBucketUrl(url, 's3');
    const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const endpoint = req.env.S3_ENDPOINT ?? '';
    const region = req.env.AWS_REGION ?? req.env.AWS_DEFAULT_REGION;
    const client = new S3Client({
      ...(endpoint !== '' ? { endpoint } : {}),
      // An S3-compatible store rarely cares about the region, but the SDK insists on one.
      ...(region ? { region } : endpoint !== '' ? { region: 'us-east-1' } : {}),
      forcePathStyle: (req.env.S3_FORCE_PATH_STYLE ?? '').toLowerCase() === 'true',
      // Retries are ours (fetchArchiveContext): one policy for every store, reported in the log.
      maxAttempts: 1,
    });
    try {
      return await fetchArchiveContext(req, async () => {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), req.signal ? { abortSignal: req.signal } : {});
        if (!res.Body) throw new KilnError('REMOTE_CONTEXT_FAILED', `--context ${url}: empty response`);
        return { body: res.Body as Readable, ...(res.ContentLength !== undefined ? { size: res.ContentLength } : {}) };
      }, (err) => classify(url, err));
    } finally {
      client.destroy();
    }
  },
};
