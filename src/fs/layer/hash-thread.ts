/**
 * sha256 streams hashed on one worker thread, off the main thread (a 256 MiB layer's diffID and digest cost
 * ~300 ms of main-thread CPU otherwise). SHA-256 is sequential, so each stream has one consumer fed in order:
 * the worker (hash-worker.cjs), one message per update. Parts in shared memory (a shared BufferPool's chunks and
 * views into them) are not copied: their `hashed` callback waits for the worker's answer, so a chunk is not
 * reused before it is hashed. Other parts are copied into the message and count as hashed at once.
 *
 * Starting a worker costs ~40–100 ms and ~20 MB of resident memory, which small layers should not pay: updates
 * are held (not hashed, their buffers not released) until `startAfter` bytes were given, then the worker is
 * started and gets everything held once it is online. A layer that ends before that (its digest is asked while
 * updates are still held) is hashed here instead, and the worker is dropped. At most `maxPending` bytes wait
 * to be hashed: past that, update() returns a promise to wait for (the tar reader then waits for the hasher).
 */
import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { OrderedHash } from '../../image/ordered-hash.ts';

export interface HashThreadOptions {
  /**
   * Whether a worker may hash at all (default: when there are 2 or more CPUs; with one, the worker's start
   * and messages would only add to the same CPU's work). Without, everything is hashed in this thread.
   */
  offThread?: boolean;
  /** Bytes given (all streams together) before the worker is started (default 4 MiB). */
  startAfter?: number;
  /** Bytes given and not yet hashed at most before callers are asked to wait (default 8 MiB). */
  maxPending?: number;
}

interface Held {
  stream: number;
  parts: readonly Uint8Array[];
  hashed: () => void;
}

interface Answer {
  answer: (value: unknown) => void;
  fail: (err: Error) => void;
}

const MiB = 1 << 20;
const WORKER_URL = new URL('./hash-worker.cjs', import.meta.url);

function byteLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  return n;
}

export class HashThread {
  /** The ordered hashes, one per stream. */
  readonly streams: readonly OrderedHash[];
  readonly #count: number;
  readonly #startAfter: number;
  readonly #maxPending: number;
  /** held: updates kept until the worker is online; worker: posted to it; local: hashed in this thread. */
  #mode: 'held' | 'worker' | 'local' = 'held';
  #held: Held[] = [];
  #given = 0;
  #pending = 0;
  #worker: Worker | undefined;
  #closing = false;
  #failure: Error | null = null;
  /** One per message posted, in order: the worker answers each. */
  #answers: Answer[] = [];
  #roomWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  #local: Hash[] = [];

  constructor(count: number, options: HashThreadOptions = {}) {
    this.#count = count;
    this.#startAfter = options.startAfter ?? 4 * MiB;
    this.#maxPending = options.maxPending ?? 8 * MiB;
    if (!(options.offThread ?? availableParallelism() > 1)) this.#goLocal();
    this.streams = Array.from({ length: count }, (_, stream): OrderedHash => ({
      update: (parts, hashed) => this.#update(stream, parts, hashed),
      digest: () => this.#digest(stream),
    }));
  }

  /** Whether the worker took over (tests, benchmarks). */
  get offThread(): boolean {
    return this.#mode === 'worker';
  }

  /** Stops the worker; call once the digests are taken (or the layer failed). */
  async close(): Promise<void> {
    this.#closing = true;
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #update(stream: number, parts: readonly Uint8Array[], hashed: () => void): Promise<void> | undefined {
    if (this.#failure) throw this.#failure;
    if (this.#mode === 'local') {
      for (const p of parts) this.#local[stream]!.update(p);
      hashed();
      return undefined;
    }
    const bytes = byteLength(parts);
    this.#given += bytes;
    if (this.#mode === 'worker') this.#post({ stream, parts, hashed }, bytes);
    else {
      this.#held.push({ stream, parts, hashed });
      this.#pending += bytes;
      if (this.#worker === undefined && this.#given >= this.#startAfter) this.#start();
    }
    return this.#room();
  }

  async #digest(stream: number): Promise<string> {
    if (this.#failure) throw this.#failure;
    if (this.#mode === 'held') this.#goLocal();
    if (this.#mode === 'local') return this.#local[stream]!.digest('hex');
    return new Promise<string>((resolve, reject) => {
      this.#answers.push({ answer: (hex) => resolve(hex as string), fail: reject });
      this.#worker!.postMessage([stream]);
    });
  }

  #room(): Promise<void> | undefined {
    if (this.#pending <= this.#maxPending) return undefined;
    return new Promise((resolve, reject) => this.#roomWaiters.push({ resolve, reject }));
  }

  #start(): void {
    const worker = new Worker(WORKER_URL);
    // Not unref()'d: a digest awaited from the worker must keep the process alive; close() ends it.
    this.#worker = worker;
    worker.on('online', () => {
      if (this.#mode !== 'held' || this.#worker !== worker) return;
      this.#mode = 'worker';
      const held = this.#held;
      this.#held = [];
      for (const h of held) {
        const bytes = byteLength(h.parts);
        this.#pending -= bytes;
        this.#post(h, bytes);
      }
    });
    worker.on('message', (value: unknown) => this.#answers.shift()?.answer(value));
    worker.on('error', (err: Error) => this.#fail(err));
    worker.on('exit', (code) => {
      if (!this.#closing && this.#worker === worker) this.#fail(new Error(`the hash thread stopped (exit code ${code})`));
    });
  }

  /** Sends one update; shared parts go as views, the others as copies (which are hashed as far as the caller knows). */
  #post(update: Held, bytes: number): void {
    const parts: Uint8Array[] = [];
    const transfer: ArrayBuffer[] = [];
    let shared = false;
    for (const p of update.parts) {
      if (p.buffer instanceof SharedArrayBuffer) {
        parts.push(p);
        shared = true;
      } else {
        const copy = new Uint8Array(p);
        parts.push(copy);
        transfer.push(copy.buffer);
      }
    }
    this.#pending += bytes;
    this.#answers.push({
      answer: () => {
        this.#pending -= bytes;
        if (shared) update.hashed();
        this.#wake();
      },
      fail: () => {},
    });
    this.#worker!.postMessage([update.stream, parts], transfer);
    if (!shared) update.hashed();
  }

  #wake(): void {
    while (this.#pending <= this.#maxPending && this.#roomWaiters.length > 0) this.#roomWaiters.shift()!.resolve();
  }

  /** The layer ended before the worker took over: hash what is held here, and from now on. */
  #goLocal(): void {
    this.#mode = 'local';
    this.#local = Array.from({ length: this.#count }, () => createHash('sha256'));
    void this.close();
    const held = this.#held;
    this.#held = [];
    this.#pending = 0;
    for (const h of held) {
      for (const p of h.parts) this.#local[h.stream]!.update(p);
      h.hashed();
    }
    this.#wake();
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const a of this.#answers.splice(0)) a.fail(this.#failure);
    for (const w of this.#roomWaiters.splice(0)) w.reject(this.#failure);
  }
}
