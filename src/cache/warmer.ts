/**
 * kaniko's warmer: fetch base images into the base-image cache ahead of builds, so builds with
 * `--cache=true --cache-dir DIR` start without a registry. Images come from `--image` references and from
 * every stage's FROM (and COPY --from image) in a Dockerfile, build args applied.
 */
import { loadDockerfile, SCRATCH } from '../dockerfile/index.ts';
import { KilnError } from '../errors.ts';
import { formatPlatform, hostPlatform } from '../image/platform.ts';
import type { Platform } from '../image/types.ts';
import type { Logger } from '../log/logger.ts';
import type { RegistryOptions } from '../registry/options.ts';
import { remoteImage } from '../registry/pull.ts';
import { parseReference } from '../registry/reference.ts';
import { RegistrySession } from '../registry/session.ts';
import { cacheKey, lookupCachedImage, storeCachedImage } from './base-image-cache.ts';

/** One image to warm: a reference and the platform to fetch (an index gives that platform's image). */
export interface WarmTarget {
  name: string;
  platform: Platform;
}

export interface WarmOptions {
  cacheDir: string;
  /** --cache-ttl: a fresh entry is kept unless `force`. */
  ttlMs: number;
  /** --force: fetch even when a fresh entry exists. */
  force: boolean;
  registry: RegistryOptions;
  logger: Logger;
  now?: () => Date;
}

export interface WarmResult {
  /** The normalised reference. */
  reference: string;
  platform: string;
  digest: string;
  outcome: 'fetched' | 'fresh';
}

/**
 * The images a Dockerfile starts from, as the build would resolve them: FROM names with meta ARGs (and
 * build args) expanded, COPY --from images, each with the stage's `--platform` or `platform`. Stages and
 * scratch are skipped; duplicates once.
 */
export function dockerfileImages(text: string, file: string, buildArgs: ReadonlyMap<string, string>, platform: Platform): WarmTarget[] {
  const graph = loadDockerfile(text, { file, buildArgs, targetPlatform: platform, buildPlatform: hostPlatform() });
  const out = new Map<string, WarmTarget>();
  const add = (name: string, p: Platform): void => {
    if (name === SCRATCH) return;
    out.set(`${cacheKey(name)} ${formatPlatform(p)}`, { name, platform: p });
  };
  for (const stage of graph.stages) {
    const stagePlatform = stage.platform ?? platform;
    if (stage.baseStage === undefined) add(stage.baseName, stagePlatform);
    for (const dep of stage.dependencies) if (dep.source.kind === 'image') add(dep.source.name, stagePlatform);
  }
  return [...out.values()];
}

/** Fetches each target into the cache (or keeps its fresh entry). Stops at the first failure, as kaniko does. */
export async function warmImages(targets: readonly WarmTarget[], options: WarmOptions): Promise<WarmResult[]> {
  if (targets.length === 0) {
    throw new KilnError('FLAG_INVALID', 'nothing to warm: give --image or --dockerfile', { exitCode: 2 });
  }
  const { logger } = options;
  const session = new RegistrySession(options.registry);
  const results: WarmResult[] = [];
  try {
    for (const target of targets) {
      const reference = cacheKey(target.name);
      const platform = formatPlatform(target.platform);
      const now = options.now?.() ?? new Date();
      if (!options.force) {
        const found = lookupCachedImage(options.cacheDir, target.name, target.platform, { ttlMs: options.ttlMs, now });
        if (found.kind === 'hit') {
          logger.info(`${reference} (${platform}) is already in the cache: ${found.entry.digest}`);
          results.push({ reference, platform, digest: found.entry.digest, outcome: 'fresh' });
          continue;
        }
        if (found.reason === 'expired') logger.info(`${reference} (${platform}): the cached entry is older than --cache-ttl; fetching again`);
      }
      logger.info(`fetching ${reference} (${platform}) into ${options.cacheDir}`);
      const image = await remoteImage(parseReference(target.name), options.registry, { platform: target.platform, session });
      const entry = await storeCachedImage(options.cacheDir, target.name, image, now);
      logger.info(`cached ${reference} (${platform}) as ${entry.digest}`);
      results.push({ reference, platform, digest: entry.digest, outcome: 'fetched' });
    }
  } finally {
    await session.close();
  }
  return results;
}
