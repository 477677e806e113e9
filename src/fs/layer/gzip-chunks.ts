/**
 * The chunk rules of pigz-style gzip (see parallel-gzip.ts for the format), shared by the ParallelGzip stream
 * and the layer writer's pooled path: whole chunks in, the gzip stream's parts out, in order. The first chunk
 * is held back until a second exists, so a stream of at most one chunk is plain zlib output compressed in
 * this thread; later chunks are deflated on the pool, each primed with the previous chunk's last 32 KiB.
 *
 * Ownership: a chunk handed in with a `release` callback is referenced by its own output (stored blocks point
 * into it) until the output's `written` callback runs, and, as the next chunk's dictionary, until that
 * chunk's deflate job has completed. `release` runs once both are over, so the caller may then reuse the
 * chunk's memory (layer/buffer-pool.ts).
 */
import { availableParallelism } from 'node:os';
import * as zlib from 'node:zlib';
import { countdown } from '../../image/ordered-hash.ts';
import { DeflatePool } from './deflate-pool.ts';
import { DICTIONARY_SIZE, deflateRawChunk, type DeflateJob } from './deflate-chunk.ts';

/**
 * Receives the stream's parts in order; calls `written` once it no longer refers to them. Awaited before
 * more work is taken on: a slow output holds the producer back.
 */
export type GzipOutput = (parts: Uint8Array[], written: () => void) => void | Promise<void>;

export interface GzipChunksOptions {
  level?: number;
  /** Bytes per independently deflated chunk (default 1 MiB). */
  chunkSize?: number;
  /** A shared pool; without one, a pool is started on demand and closed by close(). */
  pool?: DeflatePool;
  /** Chunks in flight at most (default 2 per core). */
  maxInFlight?: number;
}

interface InFlight {
  result: Promise<Uint8Array[]>;
  /** Drops the reference the chunk's own output holds. */
  written: () => void;
}

interface Owned {
  chunk: Buffer;
  release: () => void;
}

const nothing = (): void => {};

/** zlib's gzip header: no name, mtime 0, XFL from the level, OS = Unix. */
function gzipHeader(level: number): Buffer {
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]);
}

export class GzipChunks {
  readonly chunkSize: number;
  readonly #level: number;
  readonly #output: GzipOutput;
  readonly #ownPool: boolean;
  #pool: DeflatePool | undefined;
  readonly #maxInFlight: number;
  #dictionary: Uint8Array | null = null;
  /** Drops the reference the next chunk's job holds on the chunk #dictionary points into. */
  #dictionaryUsed: (() => void) | null = null;
  /** The first full chunk, held back until we know whether the stream is larger than one chunk. */
  #held: Owned | null = null;
  /** Whether a chunk came in: the first is held, later ones go to the pool. */
  #started = false;
  readonly #inFlight: InFlight[] = [];
  #crc = 0;
  #inputSize = 0;
  #headerSent = false;

  constructor(options: GzipChunksOptions, output: GzipOutput) {
    this.#level = options.level ?? 6;
    this.chunkSize = options.chunkSize ?? 1 << 20;
    this.#pool = options.pool;
    this.#ownPool = options.pool === undefined;
    this.#maxInFlight = options.maxInFlight ?? 2 * Math.max(2, availableParallelism());
    this.#output = output;
  }

  /** Takes one whole chunk (chunkSize bytes), never written to again until `release`. */
  async add(chunk: Buffer, release: () => void = nothing): Promise<void> {
    this.#count(chunk);
    if (this.#started) await this.#submit({ chunk, release }, false);
    else this.#held = { chunk, release };
    this.#started = true;
  }

  /** Takes the last bytes (less than a chunk, maybe none) and writes out everything up to the trailer. */
  async finish(tail: Buffer, release: () => void = nothing): Promise<void> {
    this.#count(tail);
    const held = this.#held;
    if (held !== null && tail.length === 0) {
      // Exactly one chunk: plain zlib output, no threads.
      this.#held = null;
      await this.#emit([deflateRawChunk({ chunk: held.chunk, dictionary: null, level: this.#level, last: true })], held.release);
      release();
    } else if (!this.#started) {
      await this.#emit([deflateRawChunk({ chunk: tail, dictionary: null, level: this.#level, last: true })], release);
    } else {
      await this.#submit({ chunk: tail, release }, true);
      while (this.#inFlight.length > 0) await this.#drainOne();
    }
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.#crc >>> 0, 0);
    trailer.writeUInt32LE(this.#inputSize % 2 ** 32, 4);
    await this.#emit([trailer], nothing);
  }

  /** Closes the pool if this started it (work in flight then fails, which nobody awaits after a teardown). */
  async close(): Promise<void> {
    if (this.#ownPool && this.#pool) {
      const pool = this.#pool;
      this.#pool = undefined;
      await pool.close();
    }
  }

  #count(data: Buffer): void {
    this.#crc = zlib.crc32(data, this.#crc);
    this.#inputSize += data.length;
  }

  async #submit(owned: Owned, last: boolean): Promise<void> {
    if (this.#held) {
      const held = this.#held;
      this.#held = null;
      await this.#submit(held, false);
    }
    const { chunk } = owned;
    const job: DeflateJob = { chunk, dictionary: this.#dictionary, level: this.#level, last };
    // A view, not a copy: chunks are never written to once full.
    const isDictionary = !last && chunk.length >= DICTIONARY_SIZE;
    const written = countdown(isDictionary ? 2 : 1, owned.release);
    const previousUsed = this.#dictionaryUsed;
    this.#dictionary = isDictionary ? chunk.subarray(chunk.length - DICTIONARY_SIZE) : null;
    this.#dictionaryUsed = isDictionary ? written : null;
    this.#pool ??= new DeflatePool();
    const result = this.#pool.deflate(job);
    // The previous chunk is free of this job once it has run (the result keeps no view of the dictionary).
    if (previousUsed) result.then(previousUsed, nothing);
    // Awaited in order by #drainOne; after a teardown nobody awaits it, and that is not a crash.
    result.catch(nothing);
    this.#inFlight.push({ result, written });
    while (this.#inFlight.length >= this.#maxInFlight) await this.#drainOne();
  }

  async #drainOne(): Promise<void> {
    const next = this.#inFlight.shift()!;
    await this.#emit(await next.result, next.written);
  }

  async #emit(parts: Uint8Array[], written: () => void): Promise<void> {
    if (!this.#headerSent) {
      parts = [gzipHeader(this.#level), ...parts];
      this.#headerSent = true;
    }
    await this.#output(parts, written);
  }
}
