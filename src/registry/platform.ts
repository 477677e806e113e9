/** Choosing the image for a platform from an index / manifest list (matching rules live in image/platform.ts). */
import { KilnError } from '../errors.ts';
import { formatPlatform, selectPlatform } from '../image/platform.ts';
import type { Descriptor, IndexManifest, Platform } from '../image/types.ts';

/** The best descriptor of the index for `platform`; a KilnError listing what exists otherwise. */
export function selectManifest(index: IndexManifest, platform: Platform, what: string): Descriptor {
  const found = selectPlatform(platform, index.manifests.map((d) => (d.platform?.os && d.platform.architecture ? d.platform : undefined)));
  if (found >= 0) return index.manifests[found];
  const available = index.manifests.filter((d) => d.platform && d.platform.os !== 'unknown').map((d) => formatPlatform(d.platform!));
  throw new KilnError('PLATFORM_NOT_FOUND', `${what} has no image for platform ${formatPlatform(platform)}`, {
    hint: available.length ? `available: ${available.join(', ')}; choose one with --custom-platform` : 'the index lists no platforms',
  });
}
