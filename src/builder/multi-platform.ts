/**
 * Multi-platform builds (`--custom-platform linux/amd64,linux/arm64`): the Dockerfile is built once per
 * target platform, one after another, and the images become one OCI image index. Nothing is pushed or written
 * until every platform is built, so a failed platform pushes nothing; then each image goes to every
 * destination by digest and the index under the tags, and the local outputs and digest files name the index.
 */
import { KilnError } from '../errors.ts';
import { formatPlatform, parsePlatform } from '../image/platform.ts';
import { describePlatforms, platformIndex, type PlatformImage } from '../image/platform-index.ts';
import type { Image, Platform } from '../image/types.ts';
import type { Logger } from '../log/logger.ts';
import type { BuildOptions } from './options.ts';
import { writeOutputs } from './outputs.ts';
import type { Pusher } from './push.ts';

/**
 * `--custom-platform` / `--platform` as a list: comma-separated, each os/arch[/variant], duplicates dropped;
 * none given = the host's platform.
 */
export function targetPlatforms(spec: string | undefined, host: Platform): Platform[] {
  if (spec === undefined || spec.trim() === '') return [host];
  const platforms: Platform[] = [];
  for (const part of spec.split(',')) {
    if (part.trim() === '') {
      throw new KilnError('FLAG_INVALID', `invalid value "${spec}" for --custom-platform: an empty platform in the list`, {
        exitCode: 2, hint: 'separate platforms with single commas, for example linux/amd64,linux/arm64',
      });
    }
    const platform = parsePlatform(part, host);
    if (!platforms.some((p) => formatPlatform(p) === formatPlatform(platform))) platforms.push(platform);
  }
  return platforms;
}

export interface PlatformBuilds {
  platforms: readonly Platform[];
  /** Builds the Dockerfile for one target platform and returns its final image. */
  build(platform: Platform): Promise<Image>;
}

/** Builds every platform, then pushes and writes the index; returns the index digest. */
export async function buildImageIndex(builds: PlatformBuilds, options: BuildOptions, logger: Logger, pusher: Pusher | undefined): Promise<string> {
  const images: PlatformImage[] = [];
  for (const [n, platform] of builds.platforms.entries()) {
    logger.info(`building for platform ${formatPlatform(platform)} (${n + 1}/${builds.platforms.length})`);
    images.push({ platform, image: await builds.build(platform) });
  }
  const annotations = options.output.annotations.size > 0 ? Object.fromEntries(options.output.annotations) : undefined;
  const index = await platformIndex(images, annotations);
  if (pusher) await pusher.pushIndex(index);
  const digest = await writeOutputs(index, options.output, logger, { pushedTo: pusher ? options.output.destinations : [] });
  logger.info(`built image index ${digest} for ${describePlatforms(images)}`);
  return digest;
}
