/**
 * A registry image whose layer blobs download at most once per build, whoever reads them (the layer store or a
 * stage being laid out, COPY --from, the OCI layout or tarball written at the end): the first reader gets the
 * registry's stream while the same bytes go into the build's blob store; readers after it read that file (and
 * wait for it when it is still being written). A download that fails or is cut is not kept: the next reader
 * downloads again. `prefetch` starts every layer's download at once, beside the build's steps, for outputs that
 * will need the blobs anyway. The first reader paces the download, so it must read on (or go away) while later
 * readers wait: every caller does (unpacking, copying into an output, uploading).
 */
import { PassThrough, type Readable } from 'node:stream';
import type { BlobStore } from '../image/blob-store.ts';
import { compressionOfMediaType, decompressStream } from '../image/compression.ts';
import type { Image, Layer } from '../image/types.ts';

interface Spool {
  /** The first reader's stream: the registry's bytes as they arrive. */
  live: Promise<Readable>;
  /** Resolves once all of the blob is in the blob store, verified. */
  stored: Promise<void>;
}

export class SpooledLayer implements Layer {
  readonly #layer: Layer;
  readonly #blobs: BlobStore;
  /** The one download; undefined while nobody has read the blob, or after the last try failed. */
  #spool: Spool | undefined;
  #file: string | undefined;

  constructor(layer: Layer, blobs: BlobStore) {
    this.#layer = layer;
    this.#blobs = blobs;
  }

  /** The blob's file once it is in the blob store: an OCI layout links it instead of copying. */
  get file(): string | undefined {
    return this.#file;
  }

  /** Where a push can mount the blob from (the registry layer's source). */
  get source(): { registry: string; repository: string } | undefined {
    return (this.#layer as { source?: { registry: string; repository: string } }).source;
  }

  digest() { return this.#layer.digest(); }
  diffID() { return this.#layer.diffID(); }
  size() { return this.#layer.size(); }
  mediaType() { return this.#layer.mediaType(); }

  compressed(): Promise<Readable> {
    if (this.#spool !== undefined) return this.#spool.stored.then(async () => this.#blobs.open(await this.#layer.digest()));
    // Set before any await: readers arriving meanwhile wait for this download instead of starting another.
    const spool = this.#download();
    this.#spool = spool;
    spool.stored.then(async () => { this.#file = this.#blobs.blobPath(await this.#layer.digest()); }, () => {
      if (this.#spool === spool) this.#spool = undefined;
    });
    return spool.live;
  }

  #download(): Spool {
    let stored!: Promise<void>;
    const live = (async () => {
      const digest = await this.#layer.digest();
      if (this.#blobs.has(digest)) {
        stored = Promise.resolve();
        return this.#blobs.open(digest);
      }
      const source = await this.#layer.compressed();
      const reader = new PassThrough({ highWaterMark: 1 << 20 });
      // Both destinations pace the download; the reader going away does not stop the copy to the blob store.
      source.on('error', (err) => reader.destroy(err));
      source.pipe(reader);
      stored = this.#blobs.write(source, digest).then(() => undefined);
      return reader;
    })();
    return { live, stored: live.then(() => stored) };
  }

  async uncompressed(): Promise<Readable> {
    return decompressStream(await this.compressed(), compressionOfMediaType(await this.#layer.mediaType()) ?? 'none');
  }

  /** Downloads the blob into the blob store now (no reader); failures are left for a reader to meet. */
  prefetch(): void {
    void this.compressed().then((s) => {
      // Errors (a bad digest, a cut) are the reader's to report; this one only drains.
      s.on('error', () => {});
      s.resume();
    }, () => {});
  }
}

/** `image` with each layer spooled into `blobs` (the same layer objects on every layers() call). */
export function spooledImage(image: Image, blobs: BlobStore, prefetch: boolean): Image {
  let layers: Promise<SpooledLayer[]> | undefined;
  return {
    mediaType: () => image.mediaType(),
    manifest: () => image.manifest(),
    rawManifest: () => image.rawManifest(),
    digest: () => image.digest(),
    rawConfigFile: () => image.rawConfigFile(),
    configFile: () => image.configFile(),
    async layers() {
      layers ??= image.layers().then((list) => {
        const spooled = list.map((l) => new SpooledLayer(l, blobs));
        if (prefetch) for (const l of spooled) l.prefetch();
        return spooled;
      });
      // A fresh array each time: stages append to theirs.
      return [...await layers];
    },
  };
}
