/**
 * Reusable chunk buffers for writing layers. Fresh 1 MiB Buffers per tar batch were the garbage of a big
 * layer write (outside V8's heap, released only by full collections: ~30 forced Mark-Compacts for 256 MiB).
 * A buffer goes back to the pool only once nothing refers to it (gzip-chunks.ts says when); acquire takes a
 * free one or allocates a new one, so a pool never blocks and its size is what was in use at once.
 */
export interface BufferPoolOptions {
  /**
   * Fill released buffers with a pattern (tests): a buffer released while still referenced then shows up
   * as wrong bytes in the output.
   */
  poison?: boolean;
  /**
   * Buffers in shared memory (SharedArrayBuffer), which the hash thread reads without a copy
   * (hash-thread.ts); every file, zlib and crypto call takes them as any other buffer.
   */
  shared?: boolean;
}

export class BufferPool {
  /** Bytes per buffer. */
  readonly size: number;
  readonly #free: ArrayBufferLike[] = [];
  readonly #poison: boolean;
  readonly #shared: boolean;
  #allocated = 0;

  constructor(size: number, options: BufferPoolOptions = {}) {
    this.size = size;
    this.#poison = options.poison ?? false;
    this.#shared = options.shared ?? false;
  }

  /** Buffers allocated so far (the most that were in use at once). */
  get allocated(): number {
    return this.#allocated;
  }

  /** A buffer of `size` bytes, with any content, owned by the caller until release(). */
  acquire(): Buffer {
    const free = this.#free.pop();
    if (free) return Buffer.from(free, 0, this.size);
    this.#allocated++;
    // Its own ArrayBuffer (not a slice of Node's shared pool), so release() can find the whole buffer.
    return this.#shared ? Buffer.from(new SharedArrayBuffer(this.size)) : Buffer.allocUnsafeSlow(this.size);
  }

  /** Gives back a buffer from acquire(), or any view into one. */
  release(view: Uint8Array): void {
    const whole = view.buffer;
    if (whole.byteLength !== this.size) throw new Error(`BufferPool: released a buffer of ${whole.byteLength} bytes, not ${this.size}`);
    if (this.#free.includes(whole)) throw new Error('BufferPool: a buffer was released twice');
    if (this.#poison) new Uint8Array(whole).fill(0xa5);
    this.#free.push(whole);
  }
}
