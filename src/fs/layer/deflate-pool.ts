/**
 * Deflates chunks for ParallelGzip in parallel on libuv's thread pool (zlib's async API). No worker
 * threads: each of those carried its own V8 heap, which cost ~100 MB of resident memory per core while
 * adding nothing zlib's own threads do not do. The bytes are those of deflateRawChunk, whoever computes them.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { deflateChunkOptions, type DeflateJob } from './deflate-chunk.ts';

const deflateRaw = promisify(zlib.deflateRaw) as (buf: zlib.InputType, options: zlib.ZlibOptions) => Promise<Buffer>;

export class DeflatePool {
  #closed = false;

  deflate(job: DeflateJob): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new Error('DeflatePool is closed'));
    return deflateRaw(job.chunk, deflateChunkOptions(job));
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
