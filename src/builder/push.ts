/**
 * Pushing the built image to every `--destination`: destinations are parsed and (unless
 * --skip-push-permission-check) checked for push permission before the build starts, so a typo or a
 * missing credential fails in seconds; the push itself happens once the image exists. The registry client
 * uploads blobs first and manifests last, so a failed push never leaves a tag pointing at a missing blob.
 */
import { KilnError } from '../errors.ts';
import type { Image, Layer } from '../image/types.ts';
import type { BuiltIndex } from '../image/platform-index.ts';
import type { Logger } from '../log/logger.ts';
import { formatReference, parseReference, repositoryName, type Reference } from '../registry/reference.ts';
import { loadRegistryClient } from './lazy-modules.ts';
import type { BuildOptions } from './options.ts';
import { registryOptionsFrom } from './registry-source.ts';

export interface Pusher {
  /** Pushes `image` to every destination; returns the pushed manifest digest. */
  push(image: Image): Promise<string>;
  /** Pushes each platform's image by digest, then the index under every destination; returns the index digest. */
  pushIndex(index: BuiltIndex): Promise<string>;
  /** Starts uploading a layer the pushed image will hold, while the build goes on (single-platform builds). */
  offer(layer: Layer): void;
  close(): Promise<void>;
}

/** `--destination` values as references; an invalid one is a usage error naming the flag. */
export function destinationReferences(destinations: readonly string[]): Reference[] {
  return destinations.map((d) => {
    try {
      return parseReference(d);
    } catch (err) {
      throw new KilnError('FLAG_INVALID', `invalid value "${d}" for --destination: ${err instanceof KilnError ? err.message : String(err)}`, {
        exitCode: 2,
        hint: 'use REGISTRY/REPOSITORY[:TAG], for example registry.example.com/team/app:1.0',
      });
    }
  });
}

/** One reference per repository: permission is granted per repository, not per tag. */
function oneRefPerRepository(refs: readonly Reference[]): Reference[] {
  const byRepo = new Map<string, Reference>();
  for (const ref of refs) if (!byRepo.has(repositoryName(ref))) byRepo.set(repositoryName(ref), ref);
  return [...byRepo.values()];
}

function pushFailed(refs: readonly Reference[], err: unknown): KilnError {
  const where = refs.map(formatReference).join(', ');
  if (err instanceof KilnError) {
    return new KilnError(err.code, `pushing to ${where} failed: ${err.message}`, { cause: err, exitCode: err.exitCode, ...(err.hint ? { hint: err.hint } : {}) });
  }
  return new KilnError('PUSH_FAILED', `pushing to ${where} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/**
 * Parses the destinations and checks push permission for each repository. Returns undefined when the
 * build pushes nothing (`--no-push`, or no destination).
 */
export async function preparePush(options: BuildOptions, logger: Logger, signal?: AbortSignal): Promise<Pusher | undefined> {
  const output = options.output;
  if (!output.push || output.destinations.length === 0) return undefined;
  const refs = destinationReferences(output.destinations);
  const opts = registryOptionsFrom(options, logger, signal);
  const { EarlyUploads, RegistrySession, checkPushPermission, pushImage, pushIndexManifest } = await loadRegistryClient();
  const session = new RegistrySession(opts);
  // Early uploads share the session (its credentials and tokens) but not its end: a failed build stops them.
  const stopEarly = new AbortController();
  let early: InstanceType<typeof EarlyUploads> | undefined;
  try {
    if (options.registry.skipPushPermissionCheck) {
      logger.debug('skipping the push permission check (--skip-push-permission-check)');
    } else {
      for (const ref of oneRefPerRepository(refs)) {
        logger.debug(`checking push permission for ${formatReference(ref)}`);
        try {
          await checkPushPermission(ref, opts, session);
        } catch (err) {
          throw pushFailed([ref], err);
        }
      }
    }
  } catch (err) {
    await session.close();
    throw err;
  }
  return {
    async push(image) {
      const expected = await image.digest();
      let result;
      try {
        result = await pushImage(image, refs, opts, { session, ...(early ? { early } : {}) });
      } catch (err) {
        throw pushFailed(refs, err);
      }
      if (result.digest !== expected) {
        throw new KilnError('DIGEST_MISMATCH', `pushed manifest digest ${result.digest} differs from the built image's ${expected}`);
      }
      for (const d of result.destinations) {
        logger.info(d.outcome === 'pushed'
          ? `pushed ${formatReference(d.ref)}@${result.digest}`
          : `kept the existing immutable tag ${formatReference(d.ref)} (--push-ignore-immutable-tag-errors)`);
      }
      return result.digest;
    },
    async pushIndex(index) {
      let result;
      try {
        for (const { image } of index.images) {
          const digest = await image.digest();
          await pushImage(image, oneRefPerRepository(refs).map((r) => ({ registry: r.registry, repository: r.repository, digest })), opts, { session });
        }
        result = await pushIndexManifest(index.raw, index.mediaType, refs, opts, { session });
      } catch (err) {
        throw pushFailed(refs, err);
      }
      for (const d of result.destinations) {
        logger.info(d.outcome === 'pushed'
          ? `pushed image index ${formatReference(d.ref)}@${result.digest}`
          : `kept the existing immutable tag ${formatReference(d.ref)} (--push-ignore-immutable-tag-errors)`);
      }
      return result.digest;
    },
    offer(layer) {
      early ??= new EarlyUploads(refs, opts, session, stopEarly.signal);
      early.offer(layer);
    },
    async close() {
      stopEarly.abort();
      await early?.settle();
      await session.close();
    },
  };
}
