/**
 * The layer cache in an OCI image layout on local disk (`--cache-repo oci:/path`, e.g. a volume CI jobs
 * share): entries are images with ref name = the key's hex digits, written by the one layout writer
 * (locked index.json, blobs renamed into place), readable by skopeo and umoci. A hit's layer blob is
 * checked against its digest before use; a corrupt blob is removed, so the next write repairs the entry.
 */
import fs from 'node:fs';
import type { Logger } from '../log/logger.ts';
import { readOciLayout, ociBlobPath } from '../image/oci-layout.ts';
import { writeOciLayout } from '../image/oci-layout-write.ts';
import { REF_NAME_ANNOTATION } from '../image/select-image.ts';
import type { IndexManifest } from '../image/types.ts';
import { cacheTag, entryImage, entryLayer, PendingWrites, type LayerCache, type LayerCacheEntry, type LookupOutcome } from './layer-cache.ts';
import { fileContentDigest } from './tree-digest.ts';

export interface OciLayoutCacheOptions {
  dir: string;
  ttlMs: number;
  /** False with --no-push-cache: read, never write. */
  write: boolean;
  logger: Logger;
}

export class OciLayoutLayerCache implements LayerCache {
  readonly name: string;
  readonly #options: OciLayoutCacheOptions;
  readonly #writes = new PendingWrites();

  constructor(options: OciLayoutCacheOptions) {
    this.#options = options;
    this.name = `OCI layout ${options.dir}`;
  }

  async lookup(key: string): Promise<LookupOutcome> {
    const { dir, ttlMs, logger } = this.#options;
    const tag = cacheTag(key);
    try {
      if (!fs.existsSync(`${dir}/index.json`)) return { kind: 'miss', reason: 'absent' };
      const layout = readOciLayout(dir);
      const index: IndexManifest = await layout.indexManifest();
      const desc = index.manifests.findLast((d) => d.annotations?.[REF_NAME_ANNOTATION] === tag);
      if (!desc) return { kind: 'miss', reason: 'absent' };
      const layer = await entryLayer(await layout.image(desc.digest), ttlMs);
      if (layer === 'expired') return { kind: 'miss', reason: 'expired' };
      const digest = await layer.digest();
      const blob = ociBlobPath(dir, digest);
      if (`sha256:${fileContentDigest(blob)}` !== digest) {
        // A content-addressed blob with other content is useless to everyone: removing it lets a write repair it.
        fs.rmSync(blob, { force: true });
        throw new Error(`layer blob ${digest} does not match its digest (removed)`);
      }
      return { kind: 'hit', layer };
    } catch (err) {
      logger.warn(`layer cache ${this.name}: entry ${tag.slice(0, 12)} is unreadable, running the step: ${(err as Error).message}`);
      return { kind: 'miss', reason: 'unreadable' };
    }
  }

  store(key: string, entry: LayerCacheEntry): void {
    if (!this.#options.write) return;
    this.#writes.add(writeOciLayout(this.#options.dir, entryImage(entry, new Date()), { refName: cacheTag(key) }), (why) => {
      this.#options.logger.warn(`layer cache ${this.name}: could not store an entry: ${why}`);
    });
  }

  flush(): Promise<void> {
    return this.#writes.settled();
  }

  close(): Promise<void> {
    return this.flush();
  }
}
