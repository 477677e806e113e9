/**
 * A sha256 fed in order whose bytes may be hashed later, elsewhere (the layer writer's hash thread,
 * fs/layer/hash-thread.ts): the caller keeps each update's bytes unchanged until its `hashed` callback runs.
 * The main-thread version hashes at once and calls back before update() returns.
 */
import { createHash } from 'node:crypto';

export interface OrderedHash {
  /**
   * Hashes `parts` after everything given before; `hashed` runs once their bytes are no longer read. A
   * promise back means too much is waiting to be hashed: give nothing more before it settles.
   */
  update(parts: readonly Uint8Array[], hashed: () => void): Promise<void> | undefined;
  /** The hex digest of everything given; nothing may be given after. */
  digest(): Promise<string>;
}

/** sha256 in this thread. */
export function mainThreadHash(): OrderedHash {
  const hash = createHash('sha256');
  return {
    update(parts, hashed) {
      for (const p of parts) hash.update(p);
      hashed();
      return undefined;
    },
    digest: async () => hash.digest('hex'),
  };
}

/** A callback that runs `done` on its `count`-th call. */
export function countdown(count: number, done: () => void): () => void {
  let left = count;
  return () => {
    if (--left === 0) done();
  };
}
