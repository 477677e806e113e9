/**
 * `gs://bucket/key.tar.gz` contexts (and kaniko's `--bucket NAME`, object context.tar.gz) with Google's
 * Cloud Storage client: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, workload
 * identity, the metadata server) and STORAGE_EMULATOR_HOST for emulators.
 */
import { KilnError } from '../errors.ts';
import { fetchArchiveContext, parseBucketUrl } from './archive-context.ts';
import type { RemoteContextProvider } from './remote-context.ts';

function classify(url: string, err: unknown): KilnError | undefined {
  const code = (err as { code?: unknown }).code;
  if (code === 404) {
    return new KilnError('REMOTE_CONTEXT_NOT_FOUND', `--context ${url}: not found (404)`, { hint: 'check the bucket and the object name' });
  }
  if (code === 401 || code === 403) {
    return new KilnError('REMOTE_CONTEXT_DENIED', `--context ${url}: access denied (${code})`, {
      hint: 'check GOOGLE_APPLICATION_CREDENTIALS (or the workload identity) and the bucket permissions',
    });
  }
  return undefined;
}

export const gcsContext: RemoteContextProvider = {
  async fetchContext(req) {
    const url = req.source.url;
    const { bucket, key } = parseBucketUrl(url, 'gs');
    const { Storage } = await import('@google-cloud/storage');
    // The client reads GOOGLE_APPLICATION_CREDENTIALS and STORAGE_EMULATOR_HOST itself; retries are ours.
    const storage = new Storage({ retryOptions: { autoRetry: false } });
    const file = storage.bucket(bucket).file(key);
    return fetchArchiveContext(req, async () => {
      const [metadata] = await file.getMetadata();
      const size = metadata.size === undefined ? undefined : Number(metadata.size);
      return { body: file.createReadStream(), ...(size !== undefined && Number.isFinite(size) ? { size } : {}) };
    }, (err) => classify(url, err));
  },
};
