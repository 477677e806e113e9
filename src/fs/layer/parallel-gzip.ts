/**
 * gzip as pigz does it: the input is cut into fixed-size chunks, each raw-deflated independently (primed
 * with the previous 32 KiB) and the pieces concatenated into ONE gzip member with a CRC over the whole
 * input. Chunks are deflated on libuv's thread pool once a second chunk exists; a stream that fits in one chunk
 * is compressed in this thread, giving exactly zlib's gzip output. The output bytes depend only on the input,
 * level and chunk size, never on the number of threads.
 *
 * Incompressible chunks are stored, not deflated (stored-chunk.ts). When a stream has more than one chunk,
 * each chunk (level > 0, at least 32 KiB) is first judged from eight 4 KiB samples spread evenly across it,
 * deflated at level 1 without a dictionary in turn; unless they together shrink by a tenth, the chunk is
 * written as deflate stored blocks (≤ 65535 bytes each, the last block of the last chunk marked final) instead
 * of being deflated. Random or already-compressed data (alone or in a tar) then costs 5 header bytes per block
 * (no deflate, no copy: the blocks point into the input) instead of ~30 ms of CPU per MiB; other chunks are
 * deflated exactly as before. CRC and ISIZE cover the whole input; the next chunk's dictionary is still the
 * previous chunk's last 32 KiB, which stored blocks leave in the decompressor's window all the same.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { GzipChunks, type GzipChunksOptions } from './gzip-chunks.ts';

export type ParallelGzipOptions = GzipChunksOptions;

export class ParallelGzip extends Transform {
  readonly #chunks: GzipChunks;
  readonly #chunkSize: number;
  /** A chunk being filled from writes that do not line up with chunk boundaries (allocated when needed). */
  #partial: Buffer | null = null;
  #fill = 0;

  /**
   * Whole chunks are taken from the written buffers without a copy, and a stored chunk's output points into
   * them: like any Writable, this one needs its writers not to change a buffer once written. (The layer
   * writer's gzip path does not go through here: it reuses its buffers, see layer/pooled-gzip-layer.ts.)
   */
  constructor(options: ParallelGzipOptions = {}) {
    super();
    this.#chunks = new GzipChunks(options, (parts, written) => {
      for (const part of parts) this.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
      written();
    });
    this.#chunkSize = this.#chunks.chunkSize;
  }

  override _transform(data: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#consume(data).then(() => cb(), (err: Error) => this.#fail(err, cb));
  }

  async #consume(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      if (this.#fill === 0 && data.length - offset >= this.#chunkSize) {
        await this.#chunks.add(data.subarray(offset, offset + this.#chunkSize));
        offset += this.#chunkSize;
        continue;
      }
      this.#partial ??= Buffer.allocUnsafeSlow(this.#chunkSize);
      const n = data.copy(this.#partial, this.#fill, offset);
      this.#fill += n;
      offset += n;
      if (this.#fill === this.#chunkSize) {
        const full = this.#partial;
        this.#partial = null;
        this.#fill = 0;
        await this.#chunks.add(full);
      }
    }
  }

  /** Once the pipeline tore this stream down, work cancelled by closing the pool is not a new error. */
  #fail(err: Error, cb: TransformCallback): void {
    if (!this.destroyed) cb(err);
  }

  override _flush(cb: TransformCallback): void {
    const tail = this.#partial?.subarray(0, this.#fill) ?? Buffer.alloc(0);
    this.#chunks.finish(tail).then(() => this.#chunks.close()).then(() => cb(), (err: Error) => this.#fail(err, cb));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#chunks.close().then(() => cb(err), () => cb(err));
  }
}
