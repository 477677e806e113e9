/**
 * Bucket contexts (S3, GCS, Azure Blob) are tar archives, gzip-compressed as kaniko expects (plain and zstd
 * tars work too). The archive is downloaded to a file first (streamed, retried, resumable by a fresh
 * attempt), then extracted with the tar context extractor; a file that is no tar fails naming the URL.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { KilnError } from '../errors.ts';
import { redactUrl } from '../log/redact.ts';
import { describeCause, streamToFile, withRetries } from './download.ts';
import type { DownloadedFile } from './download.ts';
import { scrubSecrets, secretValues } from './secrets.ts';
import type { RemoteContextRequest, RemoteContextResult } from './remote-context.ts';

/** kaniko's object name when a bucket URL names no object (`--bucket NAME`, `s3://bucket`). */
export const DEFAULT_CONTEXT_OBJECT = 'context.tar.gz';

export interface BucketObject {
  bucket: string;
  key: string;
}

/** `scheme://bucket[/key]`, the key defaulting to context.tar.gz as in kaniko. */
export function parseBucketUrl(url: string, scheme: string): BucketObject {
  const rest = url.slice(`${scheme}://`.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (bucket === '') {
    throw new KilnError('INVALID_CONTEXT', `--context ${url}: no bucket name`, { exitCode: 2, hint: `use ${scheme}://BUCKET/PATH/context.tar.gz` });
  }
  return { bucket, key: key === '' ? DEFAULT_CONTEXT_OBJECT : key };
}

export interface ObjectBody {
  body: Readable;
  /** Size when the store tells it, to detect a short read. */
  size?: number;
}

export function downloadError(url: string, err: unknown, hint?: string): KilnError {
  if (err instanceof KilnError) return err;
  const cause = scrubSecrets(describeCause(err), secretValues(process.env));
  return new KilnError('REMOTE_CONTEXT_FAILED', `--context ${url}: download failed: ${cause}`, {
    hint: hint ?? 'check the URL, the credentials and that the store is reachable',
  });
}

/**
 * Downloads an object with `open` (called again for each retry) and extracts it into `req.dest`.
 * `classify` turns an SDK error into a user-facing KilnError, or undefined to keep it as is.
 */
export async function fetchArchiveContext(
  req: RemoteContextRequest,
  open: () => Promise<ObjectBody>,
  classify: (err: unknown) => KilnError | undefined,
): Promise<RemoteContextResult> {
  const url = redactUrl(req.source.url);
  const file = path.join(req.scratch, 'context.tar');
  let got: DownloadedFile;
  try {
    req.logger?.info(`Downloading build context ${url}`);
    got = await withRetries(`download of ${url}`, async () => {
      const { body, size } = await open();
      return streamToFile(body, file, url, size, req.logger ? { logger: req.logger } : {});
    }, { ...(req.logger ? { logger: req.logger } : {}), ...(req.signal ? { signal: req.signal } : {}) });
  } catch (err) {
    throw classify(err) ?? downloadError(url, err);
  }
  try {
    const { extractTar } = await import('./tar-extract.ts');
    await extractTar(fs.createReadStream(file), req.dest);
  } catch (err) {
    throw new KilnError('INVALID_CONTEXT_TAR', `--context ${url}: not a tar or tar.gz archive (${describeCause(err)})`, {
      hint: 'a bucket context is a tar archive of the context directory, e.g. tar -C DIR -czf context.tar.gz .',
      cause: err,
    });
  } finally {
    fs.rmSync(file, { force: true });
  }
  return { digest: got.digest };
}
