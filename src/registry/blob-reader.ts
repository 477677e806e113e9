/**
 * Streaming a blob out of a registry: digest and size verified on the fly, and a connection cut in the
 * middle resumed with `Range: bytes=N-` (or by skipping N bytes when the registry ignores Range).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { KilnError } from '../errors.ts';
import type { RegistryClient } from './client.ts';
import { repositoryScope } from './challenge.ts';
import { abortableDelay, isRetryableError, describeNetworkError } from './transport.ts';

export interface BlobTarget {
  client: RegistryClient;
  repository: string;
  digest: string;
  /** Expected size; -1 when unknown. */
  size: number;
  /** No progress report (small JSON blobs read whole). */
  quiet?: boolean;
}

/** How many times a download may resume after making progress (kept apart from --image-download-retry). */
const MIN_RESUMES = 3;

/** The blob as a verified stream: errors with BLOB_DIGEST_MISMATCH instead of ending if the bytes are wrong. */
export function openBlob(target: BlobTarget): Readable {
  return Readable.from(verifiedChunks(target), { objectMode: false, highWaterMark: 1 << 20 });
}

async function* verifiedChunks(target: BlobTarget): AsyncGenerator<Buffer> {
  const { client, repository, digest, size } = target;
  const [algorithm, expectedHex] = digest.split(':');
  if (algorithm !== 'sha256') throw new KilnError('UNSUPPORTED_DIGEST', `cannot verify blob ${digest}: only sha256 is supported`);
  const ctx = { registry: client.registry, repository, action: `downloading blob ${digest}` };
  const hash = createHash('sha256');
  const maxFailures = Math.max(MIN_RESUMES, client.opts.imageDownloadRetry);
  let received = 0;
  let failures = 0;
  const tracker = target.quiet ? undefined : client.opts.progress?.start('pull', digest, size, `${client.registry}/${repository}`);
  try {
    yield* chunksWithRetry();
  } finally {
    // After done() a no-op; else the transfer failed or its reader stopped early.
    tracker?.abandon();
  }
  async function* chunksWithRetry(): AsyncGenerator<Buffer> {
    for (;;) {
      const resume = received > 0;
      let res;
      try {
        res = await client.expect(
          { method: 'GET', path: `/v2/${repository}/blobs/${digest}`, scopes: [repositoryScope(repository, 'pull')], headers: resume ? { range: `bytes=${received}-` } : {} },
          ctx,
          [200, 206],
          'blob',
        );
      } catch (err) {
        if (!isRetryableError(err) || ++failures > maxFailures) throw err;
        await abortableDelay(client.opts.retryBaseDelayMs * 2 ** (failures - 1), client.opts.signal);
        continue;
      }
      // 200 to a Range request: the registry sends everything again; drop what we already have.
      let skip = resume && res.statusCode === 200 ? received : 0;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          let data = chunk;
          if (skip > 0) {
            if (data.length <= skip) {
              skip -= data.length;
              continue;
            }
            data = data.subarray(skip);
            skip = 0;
          }
          received += data.length;
          if (size >= 0 && received > size) throw sizeError(digest, size, received);
          hash.update(data);
          tracker?.advance(data.length);
          yield data;
        }
      } catch (err) {
        if (err instanceof KilnError || client.opts.signal?.aborted || !isRetryableError(err) || ++failures > maxFailures) throw err;
        client.opts.log(`download of ${digest} from ${client.registry} broke after ${received} bytes (${describeNetworkError(err)}); resuming`);
        continue;
      }
      if (size >= 0 && received < size) {
        if (++failures > maxFailures) throw sizeError(digest, size, received);
        client.opts.log(`download of ${digest} from ${client.registry} ended early at ${received} of ${size} bytes; resuming`);
        continue;
      }
      break;
    }
    const actual = hash.digest('hex');
    if (actual !== expectedHex) {
      throw new KilnError('BLOB_DIGEST_MISMATCH', `blob ${digest} from ${client.registry}/${repository} has digest sha256:${actual}`, {
        hint: 'the registry (or a proxy in between) returned different content than the manifest names',
      });
    }
    tracker?.done();
  }
}

function sizeError(digest: string, size: number, received: number): KilnError {
  return new KilnError('BLOB_SIZE_MISMATCH', `blob ${digest} should be ${size} bytes, got ${received}`);
}

/** Reads a small blob (a config) whole, verified. */
export async function readBlob(target: BlobTarget, limit = 64 << 20): Promise<Buffer> {
  if (target.size > limit) throw new KilnError('BLOB_TOO_LARGE', `blob ${target.digest} is ${target.size} bytes, more than the ${limit} allowed for JSON`);
  const chunks: Buffer[] = [];
  for await (const chunk of openBlob({ ...target, quiet: true })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
