/**
 * Pure changes to images (go-containerregistry's mutate): each takes an image and returns a new view; the
 * input is never changed. Changing the config drops its original bytes (the new config is canonical JSON);
 * any change drops the original manifest bytes.
 */
import { KilnError } from '../errors.ts';
import { withLayerMediaType } from './layer.ts';
import { normalizePlatform } from './platform.ts';
import { alignLayerMediaType, imageParts, PartsImage, type ImageParts } from './parts-image.ts';
import { MediaType, type ConfigFile, type ContainerConfig, type History, type Image, type Layer, type Platform } from './types.ts';

export interface Addendum {
  layer: Layer;
  /** History entry for the layer (default: an entry with only `created`, if the image has a created time). */
  history?: History;
}

/** RFC 3339 in UTC, whole seconds as Go prints them ("2024-01-02T03:04:05Z"), fractions kept when present. */
export function formatTime(time: Date): string {
  const iso = time.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

function derive(base: Image, change: (parts: ImageParts) => ImageParts | Promise<ImageParts>): PartsImage {
  return new PartsImage(async () => {
    const parts = await change(await imageParts(base));
    delete parts.rawManifest;
    return parts;
  });
}

function changeConfig(base: Image, change: (config: ConfigFile, parts: ImageParts) => void | Promise<void>): PartsImage {
  return derive(base, async (parts) => {
    await change(parts.config, parts);
    delete parts.rawConfig;
    return parts;
  });
}

/** Appends layers, their diffIDs and history entries. */
export function appendLayers(base: Image, addenda: Addendum[]): PartsImage {
  return changeConfig(base, async (config, parts) => {
    config.rootfs = { type: 'layers', diff_ids: [...(config.rootfs?.diff_ids ?? [])] };
    const history = [...(config.history ?? [])];
    for (const add of addenda) {
      parts.layers.push(add.layer);
      config.rootfs.diff_ids.push(await add.layer.diffID());
      history.push(add.history ? { ...add.history } : {});
    }
    if (history.length > 0) config.history = history;
  });
}

/** Appends history entries as given, with no layer (metadata steps; steps whose layer comes later). */
export function appendHistory(base: Image, entries: History[]): PartsImage {
  return changeConfig(base, (config) => {
    config.history = [...(config.history ?? []), ...entries.map((h) => ({ ...h }))];
  });
}

/** Appends history entries of metadata-only steps (`empty_layer: true`). */
export function appendEmptyLayerHistory(base: Image, entries: History[]): PartsImage {
  return appendHistory(base, entries.map((h) => ({ ...h, empty_layer: true })));
}

/** Sets the image's `author` (MAINTAINER). */
export function setAuthor(base: Image, author: string): PartsImage {
  return changeConfig(base, (config) => {
    config.author = author;
  });
}

/** Replaces the container config (Env, Cmd, ...). */
export function setConfig(base: Image, containerConfig: ContainerConfig): PartsImage {
  return changeConfig(base, (config) => {
    config.config = structuredClone(containerConfig);
  });
}

/** Replaces the whole config file; its diff_ids must still describe the image's layers. */
export function setConfigFile(base: Image, configFile: ConfigFile): PartsImage {
  return derive(base, async (parts) => {
    const diffIDs = await Promise.all(parts.layers.map((l) => l.diffID()));
    const given = configFile.rootfs?.diff_ids ?? [];
    if (given.length !== diffIDs.length || given.some((d, i) => d !== diffIDs[i])) {
      throw new KilnError('CONFIG_LAYER_MISMATCH', 'config rootfs.diff_ids do not match the image layers');
    }
    parts.config = structuredClone(configFile);
    delete parts.rawConfig;
    return parts;
  });
}

/** Sets `created`; with `history: true` also every history entry's `created`. */
export function setCreatedAt(base: Image, time: Date, options: { history?: boolean } = {}): PartsImage {
  const created = formatTime(time);
  return changeConfig(base, (config) => {
    config.created = created;
    if (options.history && config.history) config.history = config.history.map((h) => ({ ...h, created }));
  });
}

export function setHistory(base: Image, history: History[]): PartsImage {
  return changeConfig(base, (config) => {
    config.history = structuredClone(history);
  });
}

export function setPlatform(base: Image, platform: Platform): PartsImage {
  const p = normalizePlatform(platform);
  return changeConfig(base, (config) => {
    config.os = p.os;
    config.architecture = p.architecture;
    if (p.variant) config.variant = p.variant;
    else delete config.variant;
  });
}

/** Manifest annotations (OCI manifests only carry them). */
export function setAnnotations(base: Image, annotations: Record<string, string>): PartsImage {
  return derive(base, (parts) => ({ ...parts, annotations: { ...annotations } }));
}

/**
 * OCI or Docker schema2 media types for manifest, config and layers (the blobs are unchanged, so the
 * config digest stays and the manifest digest changes).
 */
export function setMediaTypes(base: Image, format: 'oci' | 'docker'): PartsImage {
  return derive(base, async (parts) => {
    const manifestMediaType = format === 'docker' ? MediaType.dockerManifest : MediaType.ociManifest;
    const layers: Layer[] = [];
    for (const layer of parts.layers) {
      const type = await layer.mediaType();
      if (format === 'docker' && type === MediaType.ociLayerZstd) {
        throw new KilnError('ZSTD_NEEDS_OCI', 'zstd layers need OCI media types', {
          hint: 'use gzip compression, or OCI media types',
        });
      }
      const aligned = alignLayerMediaType(type, manifestMediaType);
      layers.push(aligned === type ? layer : withLayerMediaType(layer, aligned));
    }
    return {
      ...parts,
      layers,
      manifestMediaType,
      configMediaType: format === 'docker' ? MediaType.dockerConfig : MediaType.ociConfig,
      ...(format === 'docker' ? { annotations: undefined } : {}),
    };
  });
}
