/** sha256 digests of buffers and streams, and "sha256:<hex>" parsing. */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { KilnError } from '../errors.ts';
import type { Digest } from './types.ts';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function sha256Digest(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function isDigest(value: string): value is Digest {
  return DIGEST_RE.test(value);
}

/** The hex part of a sha256 digest; throws a KilnError for anything else. */
export function digestHex(digest: Digest): string {
  if (!isDigest(digest)) {
    throw new KilnError('INVALID_DIGEST', `invalid digest "${digest}"`, { hint: 'expected sha256:<64 lowercase hex>' });
  }
  return digest.slice('sha256:'.length);
}

/** Counts and hashes bytes flowing through a stream without changing them. */
export class DigestTap extends Transform {
  readonly #hash: Hash = createHash('sha256');
  #size = 0;
  #digest: Digest | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.#digest = `sha256:${this.#hash.digest('hex')}`;
    cb();
  }

  get size(): number {
    return this.#size;
  }

  /** Available once the stream has finished. */
  get digest(): Digest {
    if (this.#digest === undefined) throw new Error('DigestTap: digest read before the stream finished');
    return this.#digest;
  }
}

/** Digest and size of a whole stream. */
export async function digestStream(stream: AsyncIterable<Buffer>): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
