/**
 * Which layer cache a build uses, from kaniko's flags: none without --cache; `--cache-repo oci:/path` an
 * OCI layout; `--cache-repo REPO` a registry repository; without --cache-repo, `<first destination>/cache`
 * (kaniko's inference). --single-snapshot makes no layer per step, so nothing to cache.
 */
import path from 'node:path';
import { KilnError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { RegistryOptions } from '../registry/options.ts';
import { parseReference, type Reference } from '../registry/reference.ts';
import type { LayerCache } from './layer-cache.ts';
import { OciLayoutLayerCache } from './oci-layout-layer-cache.ts';
import { RegistryLayerCache } from './registry-layer-cache.ts';

export interface LayerCacheFlags {
  enabled: boolean;
  repo?: string;
  ttlMs: number;
  pushLayers: boolean;
  singleSnapshot: boolean;
  /** --destination values, and whether the build pushes to them (the inferred repo needs a push). */
  destinations: readonly string[];
  push: boolean;
}

/** kaniko: the destination's repository (tag and digest dropped) + "/cache". */
export function inferredCacheRepo(destination: string): Reference {
  const ref = parseReference(destination);
  return parseReference(`${ref.registry}/${ref.repository}/cache`);
}

function cacheRepository(repo: string): Reference {
  try {
    const ref = parseReference(repo);
    if ((ref.tag !== undefined && repo.endsWith(`:${ref.tag}`)) || ref.digest !== undefined) throw new Error('a cache repository takes no tag or digest');
    return ref;
  } catch (err) {
    throw new KilnError('FLAG_INVALID', `invalid value "${repo}" for --cache-repo: ${(err as Error).message}`, {
      exitCode: 2,
      hint: 'use REGISTRY/REPOSITORY (entries are tagged by key) or oci:/path/to/layout',
    });
  }
}

export function openLayerCache(flags: LayerCacheFlags, registry: () => RegistryOptions, logger: Logger): LayerCache | undefined {
  if (!flags.enabled) return undefined;
  if (flags.singleSnapshot) {
    logger.info('layer cache: off with --single-snapshot (no layer per step to cache)');
    return undefined;
  }
  const write = flags.pushLayers;
  if (flags.repo?.startsWith('oci:')) {
    return new OciLayoutLayerCache({ dir: path.resolve(flags.repo.slice('oci:'.length)), ttlMs: flags.ttlMs, write, logger });
  }
  let repository: Reference;
  if (flags.repo) repository = cacheRepository(flags.repo);
  else if (flags.push && flags.destinations.length > 0) repository = inferredCacheRepo(flags.destinations[0]);
  else {
    logger.info('layer cache: off (no --cache-repo, and no pushed --destination to infer it from); --cache-dir still serves base images');
    return undefined;
  }
  return new RegistryLayerCache({ repository, ttlMs: flags.ttlMs, write, registry: registry(), logger });
}
