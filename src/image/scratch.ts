/** The empty image (`FROM scratch`): no layers, a config naming only the platform. */
import { PartsImage } from './parts-image.ts';
import { hostPlatform, normalizePlatform } from './platform.ts';
import { MediaType, type ConfigFile, type Platform } from './types.ts';

export function scratchImage(platform: Platform = hostPlatform(), format: 'oci' | 'docker' = 'oci'): PartsImage {
  const p = normalizePlatform(platform);
  const config: ConfigFile = {
    architecture: p.architecture,
    os: p.os,
    ...(p.variant ? { variant: p.variant } : {}),
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
  };
  return new PartsImage(async () => ({
    config,
    layers: [],
    manifestMediaType: format === 'docker' ? MediaType.dockerManifest : MediaType.ociManifest,
    configMediaType: format === 'docker' ? MediaType.dockerConfig : MediaType.ociConfig,
  }));
}
