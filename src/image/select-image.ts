/** Choosing one image from an index: by digest, by reference name annotation, by platform. */
import { KilnError } from '../errors.ts';
import { isIndexMediaType, parseJson } from './manifest-image.ts';
import { formatPlatform, hostPlatform, platformMatches, selectPlatform } from './platform.ts';
import type { ConfigFile, Descriptor, Digest, Image, ImageIndex, Platform } from './types.ts';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

export interface ImageSelector {
  /** `org.opencontainers.image.ref.name` (or `io.containerd.image.name`) of a top-level entry. */
  refName?: string;
  digest?: Digest;
  /** Default: the host platform when a choice between platforms is needed. */
  platform?: Platform;
}

function isIndexDescriptor(d: Descriptor): boolean {
  return isIndexMediaType(d.mediaType);
}

async function findByDigest(index: ImageIndex, digest: Digest): Promise<Image | undefined> {
  const manifest = await index.indexManifest();
  for (const d of manifest.manifests) {
    if (d.digest === digest) return isIndexDescriptor(d) ? undefined : index.image(digest);
    if (isIndexDescriptor(d)) {
      const found = await findByDigest(await index.imageIndex(d.digest), digest);
      if (found) return found;
    }
  }
  return undefined;
}

/** Image descriptors reachable from `descriptors`, nested indexes expanded, each with its index. */
async function expand(index: ImageIndex, descriptors: Descriptor[]): Promise<Array<{ index: ImageIndex; desc: Descriptor }>> {
  const out: Array<{ index: ImageIndex; desc: Descriptor }> = [];
  for (const d of descriptors) {
    if (isIndexDescriptor(d)) {
      const child = await index.imageIndex(d.digest);
      out.push(...(await expand(child, (await child.indexManifest()).manifests)));
    } else out.push({ index, desc: d });
  }
  return out;
}

async function platformOf(index: ImageIndex, d: Descriptor): Promise<Platform> {
  if (d.platform) return d.platform;
  const config = parseJson<ConfigFile>(await (await index.image(d.digest)).rawConfigFile(), 'config');
  return { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
}

export async function selectImage(index: ImageIndex, select: ImageSelector = {}, where = 'image index'): Promise<Image> {
  if (select.digest) {
    const found = await findByDigest(index, select.digest);
    if (!found) throw new KilnError('IMAGE_NOT_FOUND', `${where} has no image ${select.digest}`);
    return found;
  }
  let top = (await index.indexManifest()).manifests;
  if (select.refName !== undefined) {
    const name = select.refName;
    top = top.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === name || d.annotations?.[CONTAINERD_NAME_ANNOTATION] === name);
    if (top.length === 0) {
      throw new KilnError('IMAGE_NOT_FOUND', `${where} has no image named "${name}"`);
    }
  }
  // Attestation manifests (BuildKit's unknown/unknown entries) are never the image.
  const candidates = (await expand(index, top)).filter((c) => c.desc.platform?.os !== 'unknown');
  if (candidates.length === 0) throw new KilnError('IMAGE_NOT_FOUND', `${where} holds no image`);
  // A single image is used whatever its platform, as a registry's single-platform manifest is (BuildKit
  // does the same and warns): the builder compares the platforms and says so.
  if (candidates.length === 1) return candidates[0].index.image(candidates[0].desc.digest);

  const want = select.platform ?? hostPlatform();
  const platforms = await Promise.all(candidates.map((c) => platformOf(c.index, c.desc)));
  if (select.platform === undefined && candidates.length > 1 && select.refName === undefined) {
    const names = new Set(candidates.map((c) => c.desc.annotations?.[REF_NAME_ANNOTATION]).filter((n) => n));
    if (names.size > 1) {
      throw new KilnError('AMBIGUOUS_IMAGE', `${where} holds several images`, {
        hint: `name one: ${[...names].join(', ')}`,
      });
    }
  }
  const i = selectPlatform(want, platforms);
  if (i < 0 || !platformMatches(want, platforms[i])) {
    throw new KilnError('PLATFORM_NOT_FOUND', `${where} has no image for ${formatPlatform(want)}`, {
      hint: `available: ${platforms.map(formatPlatform).join(', ')}`,
    });
  }
  return candidates[i].index.image(candidates[i].desc.digest);
}
