/**
 * An OCI image index over images built for several platforms (a multi-platform build's result), and the
 * blobs it consists of: every image's (config, layers, manifest; shared layers once), then the index itself.
 */
import { Readable } from 'node:stream';
import { canonicalJson } from './canonical-json.ts';
import { sha256Digest } from './digest.ts';
import { imageBlobs, type ImageBlob } from './image-blobs.ts';
import { formatPlatform } from './platform.ts';
import { MediaType, type Descriptor, type Image, type IndexManifest, type Platform } from './types.ts';

export interface PlatformImage {
  platform: Platform;
  image: Image;
}

export interface BuiltIndex {
  kind: 'index';
  mediaType: string;
  manifest: IndexManifest;
  raw: Buffer;
  digest: string;
  images: readonly PlatformImage[];
}

/** What the build's outputs hold: one image, or an index of one image per platform. */
export type BuildArtifact = Image | BuiltIndex;

export function isBuiltIndex(artifact: BuildArtifact): artifact is BuiltIndex {
  return (artifact as BuiltIndex).kind === 'index';
}

/** The index over `images`, in the order given (BuildKit keeps the --platform order). */
export async function platformIndex(images: readonly PlatformImage[], annotations?: Record<string, string>): Promise<BuiltIndex> {
  const manifests: Descriptor[] = [];
  for (const { platform, image } of images) {
    manifests.push({ mediaType: await image.mediaType(), digest: await image.digest(), size: (await image.rawManifest()).length, platform });
  }
  const manifest: IndexManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests,
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
  };
  const raw = canonicalJson(manifest, 'index');
  return { kind: 'index', mediaType: MediaType.ociIndex, manifest, raw, digest: sha256Digest(raw), images };
}

/** The artifact's manifest digest (an image's or the index's). */
export function artifactDigest(artifact: BuildArtifact): Promise<string> {
  return isBuiltIndex(artifact) ? Promise.resolve(artifact.digest) : artifact.digest();
}

/** The descriptor naming the artifact (what a layout's index.json lists). */
export async function artifactDescriptor(artifact: BuildArtifact): Promise<Descriptor> {
  if (isBuiltIndex(artifact)) return { mediaType: artifact.mediaType, digest: artifact.digest, size: artifact.raw.length };
  return { mediaType: await artifact.mediaType(), digest: await artifact.digest(), size: (await artifact.rawManifest()).length };
}

/** Every blob of the artifact, each once, the manifest(s) after what they name and the index last. */
export async function artifactBlobs(artifact: BuildArtifact): Promise<ImageBlob[]> {
  if (!isBuiltIndex(artifact)) {
    const { config, layers, manifest } = await imageBlobs(artifact);
    return [config, ...layers, manifest];
  }
  const seen = new Set<string>();
  const blobs: ImageBlob[] = [];
  for (const { image } of artifact.images) {
    for (const blob of await artifactBlobs(image)) {
      if (seen.has(blob.digest)) continue;
      seen.add(blob.digest);
      blobs.push(blob);
    }
  }
  const raw = artifact.raw;
  blobs.push({ digest: artifact.digest, size: raw.length, open: async () => Readable.from([raw]) });
  return blobs;
}

export function describePlatforms(images: readonly PlatformImage[]): string {
  return images.map((i) => formatPlatform(i.platform)).join(', ');
}
