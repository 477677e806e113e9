/**
 * Image, Layer and ImageIndex views over a registry (go-containerregistry's remote.Image). Only the
 * manifest is fetched up front; the config on first use; layer blobs each time a stream is asked for,
 * so the caller decides how many download at once.
 */
import type { Readable } from 'node:stream';
import { compressionOfMediaType, decompressStream } from '../image/compression.ts';
import { KilnError } from '../errors.ts';
import type { ConfigFile, Descriptor, Image, ImageIndex, IndexManifest, Layer, Manifest } from '../image/types.ts';
import { MediaType } from '../image/types.ts';
import { openBlob, readBlob } from './blob-reader.ts';
import type { RegistryClient } from './client.ts';
import { fetchManifest, isIndexMediaType } from './manifest.ts';
import type { FetchedManifest } from './manifest.ts';
import type { Reference } from './reference.ts';
import { formatReference, withDigest } from './reference.ts';

export class RemoteImage implements Image {
  readonly client: RegistryClient;
  readonly ref: Reference;
  readonly #fetched: FetchedManifest;
  #config: Promise<Buffer> | undefined;

  constructor(client: RegistryClient, ref: Reference, fetched: FetchedManifest) {
    if (isIndexMediaType(fetched.mediaType)) throw new KilnError('MANIFEST_UNSUPPORTED', `${formatReference(ref)} is an index, not an image`);
    this.client = client;
    this.ref = ref;
    this.#fetched = fetched;
  }

  async mediaType() {
    return this.#fetched.mediaType;
  }
  async manifest() {
    return this.#fetched.json as Manifest;
  }
  async rawManifest() {
    return this.#fetched.raw;
  }
  async digest() {
    return this.#fetched.digest;
  }
  rawConfigFile(): Promise<Buffer> {
    const { config } = this.#fetched.json as Manifest;
    this.#config ??= readBlob({ client: this.client, repository: this.ref.repository, digest: config.digest, size: config.size });
    return this.#config;
  }
  async configFile(): Promise<ConfigFile> {
    return JSON.parse((await this.rawConfigFile()).toString('utf8')) as ConfigFile;
  }
  async layers(): Promise<Layer[]> {
    const manifest = this.#fetched.json as Manifest;
    return manifest.layers.map((descriptor, i) => new RemoteLayer(this, descriptor, i));
  }
}

export class RemoteLayer implements Layer {
  readonly descriptor: Descriptor;
  readonly #image: RemoteImage;
  readonly #index: number;

  constructor(image: RemoteImage, descriptor: Descriptor, index: number) {
    this.#image = image;
    this.descriptor = descriptor;
    this.#index = index;
  }

  /** Where the blob lives: a push to the same registry can mount it from here. */
  get source(): { registry: string; repository: string } {
    return { registry: this.#image.ref.registry, repository: this.#image.ref.repository };
  }

  async digest() {
    return this.descriptor.digest;
  }
  async size() {
    return this.descriptor.size;
  }
  async mediaType() {
    return this.descriptor.mediaType;
  }
  async diffID(): Promise<string> {
    const config = await this.#image.configFile();
    const diffID = config.rootfs?.diff_ids?.[this.#index];
    if (!diffID) throw new KilnError('IMAGE_INVALID', `image config of ${formatReference(this.#image.ref)} has no diff_id for layer ${this.#index}`);
    return diffID;
  }
  async compressed(): Promise<Readable> {
    if (this.descriptor.mediaType === MediaType.dockerForeignLayerGzip && this.descriptor.urls?.length) {
      throw new KilnError('FOREIGN_LAYER', `layer ${this.descriptor.digest} is a foreign layer stored at ${this.descriptor.urls[0]}; foreign layers are not supported`);
    }
    return openBlob({ client: this.#image.client, repository: this.#image.ref.repository, digest: this.descriptor.digest, size: this.descriptor.size });
  }
  async uncompressed(): Promise<Readable> {
    return decompressStream(await this.compressed(), compressionOfMediaType(this.descriptor.mediaType) ?? 'none');
  }
}

export class RemoteIndex implements ImageIndex {
  readonly client: RegistryClient;
  readonly ref: Reference;
  readonly #fetched: FetchedManifest;

  constructor(client: RegistryClient, ref: Reference, fetched: FetchedManifest) {
    this.client = client;
    this.ref = ref;
    this.#fetched = fetched;
  }
  async mediaType() {
    return this.#fetched.mediaType;
  }
  async indexManifest() {
    return this.#fetched.json as IndexManifest;
  }
  async rawManifest() {
    return this.#fetched.raw;
  }
  async digest() {
    return this.#fetched.digest;
  }
  async image(digest: string): Promise<Image> {
    const child = withDigest(this.ref, digest);
    return new RemoteImage(this.client, child, await fetchManifest(this.client, child));
  }
  async imageIndex(digest: string): Promise<ImageIndex> {
    const child = withDigest(this.ref, digest);
    return new RemoteIndex(this.client, child, await fetchManifest(this.client, child));
  }
}
