/**
 * Where a build finds an image before asking a registry: a `--base-image-source` (an OCI layout or docker
 * archive named for that image), then, with `--cache=true`, a fresh entry of the base-image cache
 * (`--cache-dir`, filled by `kiln warm`). Neither touches the network.
 */
import { lookupCachedImage } from '../cache/base-image-cache.ts';
import { KilnError } from '../errors.ts';
import { dockerArchiveImage } from '../image/docker-archive.ts';
import { ociLayoutImage } from '../image/oci-layout.ts';
import type { Image, Platform } from '../image/types.ts';
import type { Logger } from '../log/logger.ts';
import { formatReference, parseReference } from '../registry/reference.ts';
import type { BaseImageSourceSpec, BuildOptions } from './options.ts';

function sameImageName(a: string, b: string): boolean {
  try {
    return formatReference(parseReference(a)) === formatReference(parseReference(b));
  } catch {
    return a === b;
  }
}

function describe(spec: BaseImageSourceSpec): string {
  return `${spec.kind}:${spec.path}${spec.refName !== undefined ? `:${spec.refName}` : ''}`;
}

async function openLocal(spec: BaseImageSourceSpec, platform: Platform): Promise<Image> {
  try {
    const image = spec.kind === 'oci'
      ? await ociLayoutImage(spec.path, { platform, ...(spec.refName !== undefined ? { refName: spec.refName } : {}) })
      : dockerArchiveImage(spec.path);
    await image.manifest();
    return image;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new KilnError('BASE_IMAGE_SOURCE', `--base-image-source ${spec.name}=${describe(spec)}: ${reason}`, {
      cause: err,
      ...(err instanceof KilnError && err.hint ? { hint: err.hint } : {}),
    });
  }
}

/** The image from a `--base-image-source` for `name` (the last one given wins), if any. */
export function localSourceImage(options: BuildOptions, name: string, platform: Platform, logger: Logger): Promise<Image> | undefined {
  const spec = options.baseImageSources.findLast((s) => sameImageName(s.name, name));
  if (!spec) return undefined;
  logger.info(`using ${name} from ${describe(spec)}`);
  return openLocal(spec, platform);
}

/** A fresh, complete entry of the base-image cache for `name`, when `--cache=true`. */
export function cachedBaseImage(options: BuildOptions, name: string, platform: Platform, logger: Logger): Promise<Image> | undefined {
  if (!options.cache.enabled || !options.cache.dir) return undefined;
  const found = lookupCachedImage(options.cache.dir, name, platform, { ttlMs: options.cache.ttlMs });
  if (found.kind === 'hit') {
    logger.info(`using ${name} from the base-image cache ${options.cache.dir} (${found.entry.digest})`);
    return found.image;
  }
  logger.debug(`base-image cache ${options.cache.dir}: ${name} is ${found.reason}; asking the registry`);
  return undefined;
}

/** Either of the above, in that order; undefined means: ask the registry. */
export function imageBeforeRegistry(options: BuildOptions, name: string, platform: Platform, logger: Logger): Promise<Image> | undefined {
  return localSourceImage(options, name, platform, logger) ?? cachedBaseImage(options, name, platform, logger);
}
