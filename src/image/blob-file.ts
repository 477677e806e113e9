/**
 * A blob written without a stream: the layer writer's pooled gzip path hands over parts that point into
 * reusable buffers, and must learn when each part is on file to reuse its buffer. Parts are hashed in the
 * order given and written one write after another; write() returns once few enough are queued, which holds
 * the producer back when the disk is slower. `commit()` renames the file to its digest path, as PendingBlob does.
 */
import * as fs from 'node:fs';
import type { BlobInfo } from './blob-store.ts';
import { countdown, mainThreadHash, type OrderedHash } from './ordered-hash.ts';
import type { Digest } from './types.ts';

/** Writes queued at most before write() waits (each is one chunk's parts, ~1 MiB). */
const MAX_QUEUED = 2;

export class BlobFile {
  readonly tempPath: string;
  readonly #finalPath: (digest: Digest) => string;
  readonly #hash: OrderedHash;
  #fd: number;
  #size = 0;
  /** The last write queued; each write starts when the previous one is done. */
  #tail: Promise<void> = Promise.resolve();
  #queued = 0;
  #failure: Error | null = null;
  #roomWaiter: (() => void) | null = null;

  /** `hash` may hash later, elsewhere: a part counts as written once it is on file and hashed. */
  constructor(tempPath: string, finalPath: (digest: Digest) => string, hash: OrderedHash = mainThreadHash()) {
    this.tempPath = tempPath;
    this.#finalPath = finalPath;
    this.#hash = hash;
    this.#fd = fs.openSync(tempPath, 'wx', 0o644);
  }

  /**
   * Queues `parts` (not to be changed until `written` runs, once they are on file); resolves when the
   * queue has room. A failed write fails this or a later call.
   */
  async write(parts: Uint8Array[], written: () => void = () => {}): Promise<void> {
    if (this.#failure) throw this.#failure;
    for (const p of parts) this.#size += p.byteLength;
    const done = countdown(2, written);
    const hashing = this.#hash.update(parts, done);
    // Awaited below, unless a failed write throws first.
    hashing?.catch(() => {});
    this.#queued++;
    this.#tail = this.#tail.then(() => this.#failure ? undefined : writeAll(this.#fd, parts).then(done, (err: Error) => {
      this.#failure ??= err;
    })).finally(() => {
      this.#queued--;
      this.#roomWaiter?.();
    });
    while (this.#queued > MAX_QUEUED && !this.#failure) {
      await new Promise<void>((resolve) => {
        this.#roomWaiter = resolve;
      });
      this.#roomWaiter = null;
    }
    if (this.#failure) throw this.#failure;
    await hashing;
  }

  /** Waits for the queued writes, closes the file and renames it to its digest path. */
  async commit(): Promise<BlobInfo> {
    await this.#tail;
    if (this.#failure) throw this.#failure;
    const fd = this.#fd;
    this.#fd = -1;
    fs.closeSync(fd);
    const info: BlobInfo = { digest: `sha256:${await this.#hash.digest()}`, size: this.#size };
    placeBlob(this.tempPath, this.#finalPath(info.digest));
    return info;
  }

  /** Drops the temp file once queued writes are over; safe to call at any point. */
  async abort(): Promise<void> {
    this.#failure ??= new Error('BlobFile aborted');
    await this.#tail;
    if (this.#fd >= 0) {
      fs.closeSync(this.#fd);
      this.#fd = -1;
    }
    fs.rmSync(this.tempPath, { force: true });
  }
}

/** Moves a finished temp file to its digest path, keeping an existing (identical) blob there. */
export function placeBlob(tempPath: string, target: string): void {
  if (fs.existsSync(target)) fs.rmSync(tempPath, { force: true });
  else fs.renameSync(tempPath, target);
}

/** fs.writev until every byte is written (a regular file may take fewer bytes than asked). */
async function writeAll(fd: number, parts: Uint8Array[]): Promise<void> {
  let rest = parts;
  while (rest.length > 0) {
    const n = await new Promise<number>((resolve, reject) => {
      fs.writev(fd, rest as NodeJS.ArrayBufferView[], (err, bytes) => err ? reject(err) : resolve(bytes));
    });
    rest = skipBytes(rest, n);
  }
}

function skipBytes(parts: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < parts.length && n >= parts[i]!.byteLength) n -= parts[i++]!.byteLength;
  if (i === parts.length) return [];
  return [parts[i]!.subarray(n), ...parts.slice(i + 1)];
}
