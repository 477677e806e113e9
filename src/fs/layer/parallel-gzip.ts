/**
 * gzip as pigz does it: the input is cut into fixed-size chunks, each raw-deflated independently (primed
 * with the previous 32 KiB) and the pieces concatenated into ONE gzip member with a CRC over the whole
 * input. Chunks are deflated on libuv's thread pool once a second chunk exists; a stream that fits in one chunk
 * is compressed in this thread, giving exactly zlib's gzip output. The output bytes depend only on the input,
 * level and chunk size, never on the number of threads.
 *
 * Incompressible chunks are stored, not deflated (stored-chunk.ts). When a stream has more than one chunk,
 * each chunk (level > 0, at least 16 KiB) is first judged from four 4 KiB samples spread evenly across it,
 * deflated at level 1 without a dictionary in turn; if none comes below 97 % of its size, the chunk is written
 * as deflate stored blocks (≤ 65535 bytes each, the last block of the last chunk marked final) instead of
 * being deflated. Random or already-compressed data then costs 5 header bytes per block (no deflate, no copy:
 * the blocks point into the input) instead of ~30 ms of CPU per MiB, at
 * about the size zlib gives it anyway (zlib also stores such blocks); chunks where any sample compresses are
 * deflated exactly as before. CRC and ISIZE cover the whole input; the next chunk's dictionary is still the
 * previous chunk's last 32 KiB, which stored blocks leave in the decompressor's window all the same.
 */
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { DeflatePool } from './deflate-pool.ts';
import { DICTIONARY_SIZE, deflateRawChunk, type DeflateJob } from './deflate-chunk.ts';

export interface ParallelGzipOptions {
  level?: number;
  /** Bytes per independently deflated chunk (default 1 MiB). */
  chunkSize?: number;
  /** A shared pool; without one, a pool is started on demand and closed at the end. */
  pool?: DeflatePool;
  /** Chunks in flight at most (default 2 per worker). */
  maxInFlight?: number;
}

/** zlib's gzip header: no name, mtime 0, XFL from the level, OS = Unix. */
function gzipHeader(level: number): Buffer {
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]);
}

export class ParallelGzip extends Transform {
  readonly #level: number;
  readonly #chunkSize: number;
  readonly #ownPool: boolean;
  #pool: DeflatePool | undefined;
  readonly #maxInFlight: number;
  /** A chunk being filled from writes that do not line up with chunk boundaries (allocated when needed). */
  #partial: Buffer | null = null;
  #fill = 0;
  #dictionary: Uint8Array | null = null;
  /** The first full chunk, held back until we know whether the stream is larger than one chunk. */
  #held: Buffer | null = null;
  readonly #inFlight: Array<Promise<Uint8Array[]>> = [];
  #crc = 0;
  #inputSize = 0;
  #headerSent = false;

  /**
   * Whole chunks are taken from the written buffers without a copy, and a stored chunk's output points into
   * them: like any Writable, this one needs its writers not to change a buffer once written (the layer
   * writer's tar batches are fresh buffers). Its garbage is then about one buffer per chunk, not three.
   */
  constructor(options: ParallelGzipOptions = {}) {
    super();
    this.#level = options.level ?? 6;
    this.#chunkSize = options.chunkSize ?? 1 << 20;
    this.#pool = options.pool;
    this.#ownPool = options.pool === undefined;
    this.#maxInFlight = options.maxInFlight ?? 2 * Math.max(2, availableParallelism());
  }

  override _transform(data: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#crc = zlib.crc32(data, this.#crc);
    this.#inputSize += data.length;
    this.#consume(data).then(() => cb(), (err: Error) => this.#fail(err, cb));
  }

  async #consume(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      if (this.#fill === 0 && data.length - offset >= this.#chunkSize) {
        await this.#full(data.subarray(offset, offset + this.#chunkSize));
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
        await this.#full(full);
      }
    }
  }

  async #full(chunk: Buffer): Promise<void> {
    if (this.#held === null && this.#inFlight.length === 0 && this.#dictionary === null) this.#held = chunk;
    else await this.#submit(chunk, false);
  }

  async #submit(chunk: Buffer, last: boolean): Promise<void> {
    if (this.#held) {
      const held = this.#held;
      this.#held = null;
      await this.#submit(held, false);
    }
    const job: DeflateJob = { chunk, dictionary: this.#dictionary, level: this.#level, last };
    // A view, not a copy: chunks are never written to once full.
    this.#dictionary = chunk.length >= DICTIONARY_SIZE ? chunk.subarray(chunk.length - DICTIONARY_SIZE) : null;
    this.#pool ??= new DeflatePool();
    const result = this.#pool.deflate(job);
    // Awaited in order by #drainOne; after a teardown nobody awaits it, and that is not a crash.
    result.catch(() => {});
    this.#inFlight.push(result);
    while (this.#inFlight.length >= this.#maxInFlight) await this.#drainOne();
  }

  async #drainOne(): Promise<void> {
    for (const part of await this.#inFlight.shift()!) this.#emit(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
  }

  #emit(data: Buffer): void {
    if (!this.#headerSent) {
      this.push(gzipHeader(this.#level));
      this.#headerSent = true;
    }
    this.push(data);
  }

  /** Once the pipeline tore this stream down, work cancelled by closing the pool is not a new error. */
  #fail(err: Error, cb: TransformCallback): void {
    if (!this.destroyed) cb(err);
  }

  override _flush(cb: TransformCallback): void {
    this.#finish().then(() => cb(), (err: Error) => this.#fail(err, cb));
  }

  async #finish(): Promise<void> {
    const tail = this.#partial?.subarray(0, this.#fill) ?? Buffer.alloc(0);
    if (this.#held !== null && tail.length === 0) {
      // Exactly one chunk: plain zlib output, no threads.
      this.#emit(Buffer.from(deflateRawChunk({ chunk: this.#held, dictionary: null, level: this.#level, last: true })));
    } else if (this.#held === null && this.#inFlight.length === 0 && this.#dictionary === null) {
      this.#emit(Buffer.from(deflateRawChunk({ chunk: tail, dictionary: null, level: this.#level, last: true })));
    } else {
      await this.#submit(tail, true);
      while (this.#inFlight.length > 0) await this.#drainOne();
    }
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.#crc >>> 0, 0);
    trailer.writeUInt32LE(this.#inputSize % 2 ** 32, 4);
    this.push(trailer);
    await this.#closePool();
  }

  async #closePool(): Promise<void> {
    if (this.#ownPool && this.#pool) {
      const pool = this.#pool;
      this.#pool = undefined;
      await pool.close();
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#closePool().then(() => cb(err), () => cb(err));
  }
}
