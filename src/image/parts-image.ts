/**
 * The one Image implementation behind scratch, mutate and the on-disk readers: a config, layers and the
 * manifest's media types. Raw bytes read from a source are kept as they are (their digests must not change);
 * anything computed is serialised as canonical JSON.
 */
import { canonicalJson } from './canonical-json.ts';
import { compressionOfMediaType, layerMediaType } from './compression.ts';
import { sha256Digest } from './digest.ts';
import { MediaType, type ConfigFile, type Descriptor, type Digest, type Image, type Layer, type Manifest } from './types.ts';

export interface ImageParts {
  config: ConfigFile;
  /** The config's original bytes; when present they are the config blob. */
  rawConfig?: Buffer;
  layers: Layer[];
  manifestMediaType: string;
  configMediaType: string;
  annotations?: Record<string, string>;
  /** The manifest's original bytes; when present they are the manifest. */
  rawManifest?: Buffer;
}

export function isDockerManifestType(mediaType: string): boolean {
  return mediaType === MediaType.dockerManifest;
}

/** A layer descriptor's media type named in the manifest's family (OCI or Docker) when one exists. */
export function alignLayerMediaType(layerType: string, manifestType: string): string {
  const compression = compressionOfMediaType(layerType);
  if (compression === undefined || layerType === MediaType.dockerForeignLayerGzip) return layerType;
  return layerMediaType(compression, isDockerManifestType(manifestType) ? 'docker' : 'oci');
}

export class PartsImage implements Image {
  readonly #load: () => Promise<ImageParts>;
  #parts: Promise<ImageParts> | undefined;
  #manifest: Promise<{ raw: Buffer; manifest: Manifest }> | undefined;

  constructor(load: () => Promise<ImageParts>) {
    this.#load = load;
  }

  parts(): Promise<ImageParts> {
    this.#parts ??= this.#load();
    return this.#parts;
  }

  async mediaType(): Promise<string> {
    return (await this.parts()).manifestMediaType;
  }

  async rawConfigFile(): Promise<Buffer> {
    const p = await this.parts();
    return p.rawConfig ?? canonicalJson(p.config, 'config');
  }

  async configFile(): Promise<ConfigFile> {
    return structuredClone((await this.parts()).config);
  }

  async layers(): Promise<Layer[]> {
    return [...(await this.parts()).layers];
  }

  #computeManifest(): Promise<{ raw: Buffer; manifest: Manifest }> {
    this.#manifest ??= (async () => {
      const p = await this.parts();
      if (p.rawManifest) return { raw: p.rawManifest, manifest: JSON.parse(p.rawManifest.toString('utf8')) as Manifest };
      const rawConfig = await this.rawConfigFile();
      const layers: Descriptor[] = [];
      for (const layer of p.layers) {
        layers.push({
          mediaType: alignLayerMediaType(await layer.mediaType(), p.manifestMediaType),
          digest: await layer.digest(),
          size: await layer.size(),
        });
      }
      const manifest: Manifest = {
        schemaVersion: 2,
        mediaType: p.manifestMediaType,
        config: { mediaType: p.configMediaType, digest: sha256Digest(rawConfig), size: rawConfig.length },
        layers,
      };
      if (p.annotations && Object.keys(p.annotations).length > 0) manifest.annotations = { ...p.annotations };
      return { raw: canonicalJson(manifest, 'manifest'), manifest };
    })();
    return this.#manifest;
  }

  async manifest(): Promise<Manifest> {
    return structuredClone((await this.#computeManifest()).manifest);
  }

  async rawManifest(): Promise<Buffer> {
    return Buffer.from((await this.#computeManifest()).raw);
  }

  async digest(): Promise<Digest> {
    return sha256Digest((await this.#computeManifest()).raw);
  }
}

/** The parts of any image (a copy: changing it changes nothing in `image`). */
export async function imageParts(image: Image): Promise<ImageParts> {
  if (image instanceof PartsImage) {
    const p = await image.parts();
    return { ...p, config: structuredClone(p.config), layers: [...p.layers], annotations: p.annotations && { ...p.annotations } };
  }
  const manifest = await image.manifest();
  return {
    config: await image.configFile(),
    rawConfig: await image.rawConfigFile(),
    layers: await image.layers(),
    manifestMediaType: manifest.mediaType ?? (await image.mediaType()),
    configMediaType: manifest.config.mediaType,
    annotations: manifest.annotations,
    rawManifest: await image.rawManifest(),
  };
}
