/** Images and indexes read from manifest blobs in a blob directory (an OCI layout or a docker archive). */
import type { Readable } from 'node:stream';
import { KilnError } from '../errors.ts';
import { sha256Digest } from './digest.ts';
import { KnownLayer } from './layer.ts';
import { PartsImage } from './parts-image.ts';
import { MediaType, type ConfigFile, type Digest, type Image, type ImageIndex, type IndexManifest, type Manifest } from './types.ts';

/** Access to the blobs of one source. */
export interface BlobSource {
  /** A small blob (manifest, config, index), verified against its digest. */
  readJson(digest: Digest): Buffer;
  open(digest: Digest, size: number): Readable;
  /** The local file holding a blob, when the source is a directory of blob files. */
  file?(digest: Digest): string;
  /** For error messages. */
  name: string;
}

export function verifiedBlob(data: Buffer, digest: Digest, where: string): Buffer {
  const actual = sha256Digest(data);
  if (actual !== digest) {
    throw new KilnError('DIGEST_MISMATCH', `${where}: blob ${digest} has digest ${actual}`);
  }
  return data;
}

export function parseJson<T>(data: Buffer, what: string): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch (err) {
    throw new KilnError('INVALID_IMAGE_JSON', `${what} is not valid JSON`, { cause: err });
  }
}

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

/** An image given its raw manifest; layers stream from the source, diffIDs come from the config. */
export function imageFromManifest(source: BlobSource, rawManifest: Buffer, mediaTypeHint?: string): Image {
  return new PartsImage(async () => {
    const manifest = parseJson<Manifest>(rawManifest, `manifest in ${source.name}`);
    if (manifest.schemaVersion !== 2 || !manifest.config || !Array.isArray(manifest.layers)) {
      throw new KilnError('UNSUPPORTED_MANIFEST', `${source.name}: not an image manifest (schema 2)`);
    }
    const rawConfig = source.readJson(manifest.config.digest);
    const config = parseJson<ConfigFile>(rawConfig, `config ${manifest.config.digest}`);
    const diffIDs = config.rootfs?.diff_ids ?? [];
    if (diffIDs.length !== manifest.layers.length) {
      throw new KilnError('CONFIG_LAYER_MISMATCH', `${source.name}: ${manifest.layers.length} layers but ${diffIDs.length} diff_ids`);
    }
    const layers = manifest.layers.map(
      (d, i) =>
        new KnownLayer({ digest: d.digest, diffID: diffIDs[i], size: d.size, mediaType: d.mediaType }, () =>
          source.open(d.digest, d.size), source.file?.(d.digest),
        ),
    );
    return {
      config,
      rawConfig,
      layers,
      manifestMediaType: manifest.mediaType ?? mediaTypeHint ?? MediaType.ociManifest,
      configMediaType: manifest.config.mediaType,
      annotations: manifest.annotations,
      rawManifest,
    };
  });
}

/** An index (index.json or a nested index blob) over a blob source. */
export class BlobIndex implements ImageIndex {
  readonly #source: BlobSource;
  readonly #raw: Buffer;
  readonly #index: IndexManifest;

  constructor(source: BlobSource, raw: Buffer) {
    this.#source = source;
    this.#raw = raw;
    this.#index = parseJson<IndexManifest>(raw, `index in ${source.name}`);
    if (!Array.isArray(this.#index.manifests)) {
      throw new KilnError('UNSUPPORTED_MANIFEST', `${source.name}: index has no manifests`);
    }
  }

  get source(): BlobSource {
    return this.#source;
  }
  async mediaType(): Promise<string> {
    return this.#index.mediaType ?? MediaType.ociIndex;
  }
  async indexManifest(): Promise<IndexManifest> {
    return structuredClone(this.#index);
  }
  async rawManifest(): Promise<Buffer> {
    return Buffer.from(this.#raw);
  }
  async digest(): Promise<Digest> {
    return sha256Digest(this.#raw);
  }
  async image(digest: Digest): Promise<Image> {
    const desc = this.#index.manifests.find((m) => m.digest === digest);
    return imageFromManifest(this.#source, this.#source.readJson(digest), desc?.mediaType);
  }
  async imageIndex(digest: Digest): Promise<ImageIndex> {
    return new BlobIndex(this.#source, this.#source.readJson(digest));
  }
}
