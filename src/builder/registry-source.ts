/**
 * Images a build reads (FROM, COPY --from): from a --base-image-source or the base-image cache when one
 * has it, else from registries (one session per build, kaniko's flags applied).
 */
import { defaultRegistryOptions, type RegistryOptions } from '../registry/options.ts';
import { parseReference } from '../registry/reference.ts';
import type { RegistrySession } from '../registry/session.ts';
import type { Image, Platform } from '../image/types.ts';
import type { Logger } from '../log/logger.ts';
import { createTransferProgress, formatBytes } from '../log/transfer-progress.ts';
import { formatDuration } from '../log/timings.ts';
import { loadLocalImageSources, loadRegistryClient } from './lazy-modules.ts';
import type { BlobStore } from '../image/blob-store.ts';
import { spooledImage } from './spooled-image.ts';
import type { BuildOptions } from './options.ts';

export interface ImageSource {
  pull(name: string, platform: Platform): Promise<Image>;
  /**
   * Settles once the first pull waits on the network (its first request sent) or was answered locally: work
   * that only needs the CPU (start-ahead.ts) starts then, so it neither delays that request nor waits for it.
   */
  readonly waiting: Promise<void>;
  close(): Promise<void>;
}

export function registryOptionsFrom(options: BuildOptions, logger: Logger, signal?: AbortSignal): RegistryOptions {
  const r = options.registry;
  return defaultRegistryOptions({
    insecureRegistries: r.insecureRegistries,
    insecurePush: r.insecurePush,
    insecurePull: r.insecurePull,
    skipTlsVerifyPush: r.skipTlsVerifyPush,
    skipTlsVerifyPull: r.skipTlsVerifyPull,
    skipTlsVerifyRegistries: r.skipTlsVerifyRegistries,
    registryCertificates: r.registryCertificates,
    registryClientCerts: r.registryClientCerts,
    registryMaps: r.registryMaps,
    skipDefaultRegistryFallback: r.skipDefaultRegistryFallback,
    imageDownloadRetry: r.imageDownloadRetry,
    pushRetry: r.pushRetry,
    pushIgnoreImmutableTagErrors: r.pushIgnoreImmutableTagErrors,
    ...(r.credentialHelpers === undefined ? {} : { credentialHelpers: r.credentialHelpers }),
    ...(r.dockerConfigDir === undefined ? {} : { dockerConfigDir: r.dockerConfigDir }),
    timeouts: r.timeouts,
    ...(signal ? { signal } : {}),
    // Retries, resumed downloads and skipped mirrors are worth seeing in a CI log, with their reason.
    log: (message) => logger.warn(message),
    info: (message) => logger.info(message),
    progress: createTransferProgress(logger),
  });
}

/** Whether a pull may be answered without a registry (local-image-sources.ts): only then are its readers loaded. */
function mayBeLocal(options: BuildOptions): boolean {
  return options.baseImageSources.length > 0 || (options.cache.enabled && options.cache.dir !== '');
}

/**
 * Images from registries (after --base-image-source and the base-image cache), each layer downloaded at most
 * once into `blobs`; with an OCI layout or tarball output, which needs every blob, downloads start at once.
 */
export function registryImageSource(options: BuildOptions, logger: Logger, blobs: BlobStore, signal?: AbortSignal): ImageSource {
  const opts = registryOptionsFrom(options, logger, signal);
  const prefetch = options.output.ociLayoutPath !== undefined || options.output.tarPath !== undefined;
  let session: RegistrySession | undefined;
  const pulled = new Map<string, Promise<Image>>();
  const waiting = Promise.withResolvers<void>();
  async function pullOnce(name: string, platform: Platform): Promise<Image> {
    const local = mayBeLocal(options) ? (await loadLocalImageSources()).imageBeforeRegistry(options, name, platform, logger) : undefined;
    if (local) {
      waiting.resolve();
      return local;
    }
    const registry = await loadRegistryClient();
    session ??= new registry.RegistrySession(opts);
    logger.info(`resolving image ${name}`);
    const started = Date.now();
    const resolving = registry.remoteImage(parseReference(name), opts, { platform, session });
    waiting.resolve();
    const image = await resolving;
    const layers = (await image.manifest()).layers;
    const bytes = layers.reduce((sum, l) => sum + l.size, 0);
    // The layers download when the stage first needs its files; each blob then gets its own line.
    logger.info(`resolved image ${name} to ${await image.digest()} (${layers.length} layers, ${formatBytes(bytes)}) in ${formatDuration(Date.now() - started)}`);
    return spooledImage(image, blobs, prefetch);
  }
  return {
    waiting: waiting.promise,
    pull(name, platform) {
      const key = `${name}|${platform.os}/${platform.architecture}/${platform.variant ?? ''}`;
      let image = pulled.get(key);
      if (!image) {
        image = pullOnce(name, platform);
        pulled.set(key, image);
      }
      return image;
    },
    async close() {
      await session?.close();
    },
  };
}
