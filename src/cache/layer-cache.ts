/**
 * The layer cache (kaniko's --cache with --cache-repo): one entry per step key, an ordinary image of one
 * layer and a config, tagged by the key's hex digits, in a registry repository or an OCI image layout on
 * disk. A missing, expired or unreadable entry is a miss (the step runs); a failed write warns and the
 * build goes on. See docs/cache.md.
 */
import { KilnError } from '../errors.ts';
import { appendLayers, setCreatedAt } from '../image/mutate.ts';
import { scratchImage } from '../image/scratch.ts';
import type { History, Image, Layer, Platform } from '../image/types.ts';

export interface LayerCacheEntry {
  layer: Layer;
  history: History;
  platform: Platform;
}

export type LookupOutcome =
  | { kind: 'hit'; layer: Layer }
  | { kind: 'miss'; reason: 'absent' | 'expired' | 'unreadable' | 'offline' };

export interface LayerCache {
  /** For log lines: "registry.example.com/app/cache", "OCI layout /cache/layers". */
  readonly name: string;
  lookup(key: string): Promise<LookupOutcome>;
  /** Starts writing an entry; failures warn (a cache is never worth failing a build for). */
  store(key: string, entry: LayerCacheEntry): void;
  /** Waits for the writes started so far. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Cache writes in flight: each runs while the build goes on; a failure only warns. */
export class PendingWrites {
  readonly #pending = new Set<Promise<void>>();

  add(write: Promise<unknown>, warn: (message: string) => void): void {
    const tracked: Promise<void> = write
      .then(() => undefined, (err: unknown) => warn((err as Error).message))
      .finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  async settled(): Promise<void> {
    await Promise.all([...this.#pending]);
  }
}

/** An entry's tag: the key's hex digits (a valid tag and ref name, as kaniko names its cache images). */
export function cacheTag(key: string): string {
  return key.replace(/^sha256:/, '');
}

/** The image an entry is stored as; `created` is when it was written, which --cache-ttl is measured from. */
export function entryImage(entry: LayerCacheEntry, created: Date): Image {
  return setCreatedAt(appendLayers(scratchImage(entry.platform), [{ layer: entry.layer, history: entry.history }]), created, { history: true });
}

/** The entry's one layer, or why it cannot serve: expired, or not an entry this cache writes. */
export async function entryLayer(image: Image, ttlMs: number, now: Date = new Date()): Promise<Layer | 'expired'> {
  const config = await image.configFile();
  const layers = await image.layers();
  if (layers.length !== 1 || config.rootfs?.diff_ids?.length !== 1) {
    throw new KilnError('CACHE_ENTRY_INVALID', `a cache entry holds one layer, this one ${layers.length}`);
  }
  const created = config.created === undefined ? NaN : new Date(config.created).getTime();
  if (Number.isNaN(created)) throw new KilnError('CACHE_ENTRY_INVALID', 'the cache entry has no creation time');
  if (now.getTime() - created > ttlMs) return 'expired';
  return layers[0];
}
