/**
 * A content-addressed blob directory (`<dir>/sha256/<hex>`) for blobs produced during a build. A blob is
 * streamed to a temp file in the same directory tree while it is hashed, then renamed into place, so a blob
 * path either does not exist or holds the complete, verified content.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { KilnError } from '../errors.ts';
import { BlobFile, placeBlob } from './blob-file.ts';
import { digestHex } from './digest.ts';
import type { OrderedHash } from './ordered-hash.ts';
import type { Digest } from './types.ts';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export class BlobStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  blobPath(digest: Digest): string {
    return path.join(this.dir, 'sha256', digestHex(digest));
  }

  has(digest: Digest): boolean {
    return fs.existsSync(this.blobPath(digest));
  }

  size(digest: Digest): number {
    return fs.statSync(this.blobPath(digest)).size;
  }

  open(digest: Digest): Readable {
    return fs.createReadStream(this.blobPath(digest), { highWaterMark: 1 << 20 });
  }

  /** A writable that hashes what it is given; `commit()` moves it to its digest path. */
  createWriter(): PendingBlob {
    return new PendingBlob(this.#tempPath(), (digest) => this.blobPath(digest));
  }

  /** Like createWriter, without a stream: parts are written as given, and the caller learns when (blob-file.ts). */
  createFile(hash?: OrderedHash): BlobFile {
    return new BlobFile(this.#tempPath(), (digest) => this.blobPath(digest), hash);
  }

  #tempPath(): string {
    fs.mkdirSync(path.join(this.dir, 'tmp'), { recursive: true });
    fs.mkdirSync(path.join(this.dir, 'sha256'), { recursive: true });
    return path.join(this.dir, 'tmp', `${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  /** Stores a whole stream; with `expected`, a mismatch is an error and nothing is stored. */
  async write(source: Readable | AsyncIterable<Buffer>, expected?: Digest): Promise<BlobInfo> {
    const writer = this.createWriter();
    try {
      await pipeline(source, writer);
      return await writer.commit(expected);
    } catch (err) {
      writer.abort();
      throw err;
    }
  }
}

/** A blob being written: bytes go to a temp file and a running sha256. */
export class PendingBlob extends Writable {
  readonly tempPath: string;
  readonly #finalPath: (digest: Digest) => string;
  readonly #hash: Hash = createHash('sha256');
  #fd = -1;
  #size = 0;
  #result: BlobInfo | undefined;

  constructor(tempPath: string, finalPath: (digest: Digest) => string) {
    super({ highWaterMark: 1 << 20 });
    this.tempPath = tempPath;
    this.#finalPath = finalPath;
  }

  override _construct(cb: (err?: Error | null) => void): void {
    fs.open(this.tempPath, 'wx', 0o644, (err, fd) => {
      this.#fd = fd;
      cb(err);
    });
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    for (const b of buffers) {
      this.#hash.update(b);
      this.#size += b.length;
    }
    fs.writev(this.#fd, buffers, (err) => cb(err));
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#result = { digest: `sha256:${this.#hash.digest('hex')}`, size: this.#size };
    fs.close(this.#fd, (err) => {
      this.#fd = -1;
      cb(err);
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.#fd >= 0) {
      const fd = this.#fd;
      this.#fd = -1;
      fs.close(fd, () => cb(err));
    } else cb(err);
  }

  /** Digest and size, once the stream has finished. */
  get info(): BlobInfo {
    if (!this.#result) throw new Error('PendingBlob: info read before the stream finished');
    return this.#result;
  }

  /** Renames the finished temp file to its digest path (keeping an existing identical blob). */
  async commit(expected?: Digest): Promise<BlobInfo> {
    if (!this.writableFinished) {
      await new Promise<void>((resolve, reject) => {
        this.once('finish', resolve);
        this.once('error', reject);
      });
    }
    const info = this.info;
    if (expected !== undefined && expected !== info.digest) {
      this.abort();
      throw new KilnError('DIGEST_MISMATCH', `blob digest mismatch: expected ${expected}, got ${info.digest}`);
    }
    placeBlob(this.tempPath, this.#finalPath(info.digest));
    return info;
  }

  /** Drops the temp file; safe to call at any point. */
  abort(): void {
    const remove = (): void => fs.rmSync(this.tempPath, { force: true });
    if (!this.closed) this.once('close', remove);
    if (!this.destroyed) this.destroy();
    remove();
  }
}
