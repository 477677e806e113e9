/**
 * Compresses chunks for ParallelGzip in parallel on libuv's thread pool (zlib's async API). No worker
 * threads: each of those carried its own V8 heap, which cost ~100 MB of resident memory per core while
 * adding nothing zlib's own threads do not do. An incompressible chunk (judged from deflated samples,
 * stored-chunk.ts, in the calling thread) becomes stored blocks, any other is deflated as deflateRawChunk would.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { deflateChunkOptions, type DeflateJob } from './deflate-chunk.ts';
import { chunkIncompressible, storedBlocks } from './stored-chunk.ts';

const deflateRaw = promisify(zlib.deflateRaw) as (buf: zlib.InputType, options: zlib.ZlibOptions) => Promise<Buffer>;

export class DeflatePool {
  #closed = false;

  /** The chunk's bytes in the stream, in parts (stored blocks point into the chunk). */
  async deflate(job: DeflateJob): Promise<Uint8Array[]> {
    if (this.#closed) throw new Error('DeflatePool is closed');
    if (job.level > 0 && chunkIncompressible(job.chunk)) return storedBlocks(job.chunk, job.last);
    return [await deflateRaw(job.chunk, deflateChunkOptions(job))];
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
