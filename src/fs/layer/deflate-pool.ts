/** Worker threads that deflate chunks for ParallelGzip. Create one per build (or per layer) and close it. */
import { getCompileCacheDir } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DeflateJob } from './deflate-chunk.ts';

/**
 * A worker does not inherit the compile cache the CLI entry enabled (it is per thread): handing it the cache
 * through its own env halves its start-up (~100 ms of TypeScript stripping per worker), without touching
 * the process environment RUN steps and helpers see.
 */
function workerEnv(): NodeJS.ProcessEnv {
  const cacheDir = getCompileCacheDir();
  return cacheDir === undefined ? process.env : { ...process.env, NODE_COMPILE_CACHE: cacheDir };
}

interface Pending {
  resolve: (out: Uint8Array) => void;
  reject: (err: Error) => void;
}

export class DeflatePool {
  readonly size: number;
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #load: number[] = [];
  #nextId = 0;
  #closed = false;

  constructor(size: number = availableParallelism()) {
    this.size = Math.max(1, size);
  }

  #worker(index: number): Worker {
    let w = this.#workers[index];
    if (!w) {
      w = new Worker(new URL('./deflate-worker.ts', import.meta.url), { env: workerEnv() });
      w.on('message', (msg: { id: number; out?: Uint8Array; error?: string }) => {
        const p = this.#pending.get(msg.id);
        if (!p) return;
        this.#pending.delete(msg.id);
        // An idle worker must not keep the process alive; a busy one must.
        if (--this.#load[index] === 0) w!.unref();
        if (msg.error !== undefined) p.reject(new Error(`deflate worker: ${msg.error}`));
        else p.resolve(msg.out!);
      });
      w.on('error', (err) => this.#failAll(err));
      w.unref();
      this.#workers[index] = w;
      this.#load[index] = 0;
    }
    return w;
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /** Deflates on the least busy worker; the chunk's memory is transferred to it. */
  deflate(job: DeflateJob): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new Error('DeflatePool is closed'));
    let index = 0;
    for (let i = 0; i < this.size; i++) {
      if (this.#workers[i] === undefined) {
        index = i;
        break;
      }
      if (this.#load[i] < this.#load[index]) index = i;
    }
    const worker = this.#worker(index);
    const id = this.#nextId++;
    if (this.#load[index]++ === 0) worker.ref();
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...job }, [job.chunk.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll(new Error('DeflatePool closed'));
    await Promise.all(this.#workers.map((w) => w.terminate()));
    this.#workers.length = 0;
  }
}
