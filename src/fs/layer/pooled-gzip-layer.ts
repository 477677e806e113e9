/**
 * The layer writer's gzip path without streams in between: tar batches, each one whole gzip chunk taken from
 * a BufferPool, go through GzipChunks straight into the blob file, and each buffer returns to the pool once
 * its chunk's output is on file and the next chunk's deflate job (its dictionary user) is done. A 256 MiB
 * layer then cycles through ~8 buffers instead of leaving 256 dead ones for the garbage collector.
 */
import type { BlobFile } from '../../image/blob-file.ts';
import { countdown, type OrderedHash } from '../../image/ordered-hash.ts';
import { garbageCollector } from './buffer-garbage.ts';
import type { BufferPool } from './buffer-pool.ts';
import type { DeflatePool } from './deflate-pool.ts';
import { GzipChunks } from './gzip-chunks.ts';

export interface PooledGzipOptions {
  level?: number;
  /** A shared deflate pool; without one, one is started and closed here. */
  pool?: DeflatePool;
  /** Chunks in flight at most (default as GzipChunks). */
  maxInFlight?: number;
  /** Hashes the uncompressed batches (the diffID); a batch goes back to the pool once hashed too. */
  tarHash?: OrderedHash;
}

/**
 * Compresses `batches` into `blob`. Every batch but the last must be exactly one chunk (`buffers.size`
 * bytes) acquired from `buffers`; this releases them.
 */
export async function writePooledGzip(
  batches: AsyncIterable<Buffer>,
  buffers: BufferPool,
  blob: BlobFile,
  options: PooledGzipOptions = {},
): Promise<void> {
  const gzip = new GzipChunks(
    { chunkSize: buffers.size, ...options },
    (parts, written) => blob.write(parts, written),
  );
  // Deflated chunks still come back from zlib as fresh buffers (a third to a half of the input for ordinary
  // files): garbage V8 collects late, as buffer-garbage.ts says. Stored chunks make none, so a layer of
  // incompressible data never reaches the limit; the pool's own buffers do not count towards it.
  const collect = garbageCollector(undefined, undefined, () => buffers.allocated * buffers.size);
  try {
    let tail: { batch: Buffer; release: () => void } | undefined;
    for await (const batch of batches) {
      if (tail !== undefined) throw new Error('writePooledGzip: a batch shorter than a chunk was not the last');
      collect(batch.length);
      const release = countdown(options.tarHash ? 2 : 1, () => buffers.release(batch));
      await options.tarHash?.update([batch], release);
      if (batch.length === buffers.size) await gzip.add(batch, release);
      else tail = { batch, release };
    }
    if (tail === undefined) await gzip.finish(Buffer.alloc(0));
    else await gzip.finish(tail.batch, tail.release);
  } finally {
    await gzip.close();
  }
}
