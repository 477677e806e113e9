/** Layer views over stored blobs: a blob store, a file (or byte range of one), or any re-openable stream. */
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { BlobStore } from './blob-store.ts';
import { compressionOfMediaType, decompressStream, sniffDecompress } from './compression.ts';
import type { Digest, Layer } from './types.ts';

export interface LayerInfo {
  digest: Digest;
  diffID: Digest;
  size: number;
  mediaType: string;
}

/** A layer whose facts are known up front and whose blob can be opened any number of times. */
export class KnownLayer implements Layer {
  readonly info: LayerInfo;
  /** A local file holding exactly the blob, when there is one: writers may link it instead of copying. */
  readonly file: string | undefined;
  readonly #open: () => Readable;

  constructor(info: LayerInfo, open: () => Readable, file?: string) {
    this.info = { ...info };
    this.#open = open;
    this.file = file;
  }

  async digest(): Promise<Digest> {
    return this.info.digest;
  }
  async diffID(): Promise<Digest> {
    return this.info.diffID;
  }
  async size(): Promise<number> {
    return this.info.size;
  }
  async mediaType(): Promise<string> {
    return this.info.mediaType;
  }
  async compressed(): Promise<Readable> {
    return this.#open();
  }
  async uncompressed(): Promise<Readable> {
    const blob = this.#open();
    const compression = compressionOfMediaType(this.info.mediaType);
    if (compression === undefined) return sniffDecompress(blob);
    return decompressStream(blob, compression);
  }
}

export function blobStoreLayer(store: BlobStore, info: LayerInfo): KnownLayer {
  return new KnownLayer(info, () => store.open(info.digest), store.blobPath(info.digest));
}

/** A layer stored in a file, optionally at a byte range (a blob inside an uncompressed tarball). */
export function fileLayer(file: string, info: LayerInfo, range?: { start: number }): KnownLayer {
  return new KnownLayer(info, () =>
    fs.createReadStream(file, {
      highWaterMark: 1 << 20,
      ...(range ? { start: range.start, end: range.start + info.size - 1 } : {}),
    }),
  );
}

/** The same layer under another media type (e.g. OCI ↔ Docker names for the same gzip blob). */
export function withLayerMediaType(layer: Layer, mediaType: string): Layer {
  return {
    digest: () => layer.digest(),
    diffID: () => layer.diffID(),
    size: () => layer.size(),
    mediaType: async () => mediaType,
    compressed: () => layer.compressed(),
    uncompressed: () => layer.uncompressed(),
  };
}
