/**
 * Images a build reads (FROM, COPY --from): from a --base-image-source or the base-image cache when one
 * has it, else from registries (one session per build, kaniko's flags applied).
 */
import { remoteImage } from '../registry/pull.ts';
import { defaultRegistryOptions, type RegistryOptions } from '../registry/options.ts';
import { parseReference } from '../registry/reference.ts';
import { RegistrySession } from '../registry/session.ts';
import type { Image, Platform } from '../image/types.ts';
import type { Logger } from '../log/logger.ts';
import { imageBeforeRegistry } from './local-image-sources.ts';
import type { BuildOptions } from './options.ts';

export interface ImageSource {
  pull(name: string, platform: Platform): Promise<Image>;
  close(): Promise<void>;
}

export function registryOptionsFrom(options: BuildOptions, logger: Logger): RegistryOptions {
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
    ...(r.dockerConfigDir === undefined ? {} : { dockerConfigDir: r.dockerConfigDir }),
    log: (message) => logger.debug(message),
  });
}

export function registryImageSource(options: BuildOptions, logger: Logger): ImageSource {
  const opts = registryOptionsFrom(options, logger);
  let session: RegistrySession | undefined;
  const pulled = new Map<string, Promise<Image>>();
  return {
    pull(name, platform) {
      const key = `${name}|${platform.os}/${platform.architecture}/${platform.variant ?? ''}`;
      let image = pulled.get(key);
      if (!image) {
        image = imageBeforeRegistry(options, name, platform, logger);
        if (!image) {
          session ??= new RegistrySession(opts);
          logger.info(`resolving image ${name}`);
          image = remoteImage(parseReference(name), opts, { platform, session });
        }
        pulled.set(key, image);
      }
      return image;
    },
    async close() {
      await session?.close();
    },
  };
}
