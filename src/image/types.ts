/**
 * OCI image-spec and Docker schema-2 types, and the immutable views every image source and sink speaks
 * (go-containerregistry's v1.Image / v1.Layer / v1.ImageIndex). A view is read lazily; nothing here
 * holds a layer in memory.
 */
import type { Readable } from 'node:stream';

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** "sha256:<64 hex>" */
export type Digest = string;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The `config` object of an image config (Docker's field names, which OCI adopted). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
}

export interface History {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ConfigFile {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  config: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: History[];
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface IndexManifest {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** A layer: compressed blob (digest) and uncompressed tar (diffID), both streamable any number of times. */
export interface Layer {
  digest(): Promise<Digest>;
  diffID(): Promise<Digest>;
  /** Size of the compressed blob in bytes. */
  size(): Promise<number>;
  mediaType(): Promise<string>;
  /** The blob as stored/transferred. */
  compressed(): Promise<Readable>;
  /** The tar stream. */
  uncompressed(): Promise<Readable>;
}

export interface Image {
  mediaType(): Promise<string>;
  manifest(): Promise<Manifest>;
  rawManifest(): Promise<Buffer>;
  /** Digest of rawManifest(). */
  digest(): Promise<Digest>;
  configFile(): Promise<ConfigFile>;
  rawConfigFile(): Promise<Buffer>;
  layers(): Promise<Layer[]>;
}

export interface ImageIndex {
  mediaType(): Promise<string>;
  indexManifest(): Promise<IndexManifest>;
  rawManifest(): Promise<Buffer>;
  digest(): Promise<Digest>;
  image(digest: Digest): Promise<Image>;
  imageIndex(digest: Digest): Promise<ImageIndex>;
}
