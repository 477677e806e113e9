/**
 * Pulling: which registries to ask (registry maps / mirrors, then the original, as kaniko does), the
 * manifest, and the platform's image from an index.
 */
import { KilnError } from '../errors.ts';
import type { Image, IndexManifest } from '../image/types.ts';
import type { RegistryClient } from './client.ts';
import { fetchManifest, isIndexMediaType } from './manifest.ts';
import type { FetchedManifest } from './manifest.ts';
import { mirrorsFor, type RegistryOptions } from './options.ts';
import { hostPlatform } from '../image/platform.ts';
import type { Platform } from '../image/types.ts';
import { selectManifest } from './platform.ts';
import { formatReference, withDigest, withRegistry } from './reference.ts';
import type { Reference } from './reference.ts';
import { RemoteImage, RemoteIndex } from './remote-image.ts';
import { RegistrySession } from './session.ts';

export interface PullOptions {
  /** Platform to pick from an index; default the host's. */
  platform?: Platform;
  /** Session to share agents and tokens; a new one (left open for the lazy layers) otherwise. */
  session?: RegistrySession;
}

/** One place to try, and whether it is a mirror/mapped registry (whose failure falls through). */
export interface PullCandidate {
  ref: Reference;
  mapped: boolean;
}

/**
 * `--registry-map`/`--registry-mirror` entries for the reference's registry, each "host[/prefix]", in order,
 * then the original registry unless skipDefaultRegistryFallback.
 */
export function pullCandidates(ref: Reference, opts: RegistryOptions): PullCandidate[] {
  const maps = mirrorsFor(opts, ref.registry);
  const candidates: PullCandidate[] = maps.map((mapping) => {
    const slash = mapping.indexOf('/');
    const host = slash < 0 ? mapping : mapping.slice(0, slash);
    let prefix = slash < 0 ? '' : mapping.slice(slash + 1);
    if (prefix && !prefix.endsWith('/')) prefix += '/';
    return { ref: withRegistry(ref, host, prefix), mapped: true };
  });
  if (maps.length === 0 || !opts.skipDefaultRegistryFallback) candidates.push({ ref, mapped: false });
  return candidates;
}

export interface ResolvedManifest {
  client: RegistryClient;
  /** The reference actually used (a mirror's when one answered). */
  ref: Reference;
  fetched: FetchedManifest;
}

/** The manifest (or index) for `ref`, trying mirrors first. */
export async function getManifest(ref: Reference, opts: RegistryOptions, session: RegistrySession): Promise<ResolvedManifest> {
  const candidates = pullCandidates(ref, opts);
  const failures: string[] = [];
  for (const candidate of candidates) {
    const client = session.client(candidate.ref.registry, 'pull');
    try {
      const fetched = await fetchManifest(client, candidate.ref);
      if (candidate.mapped) opts.info?.(`pulling ${formatReference(ref)} from mirror ${candidate.ref.registry} (${formatReference(candidate.ref)})`);
      else if (failures.length > 0) opts.info?.(`pulling ${formatReference(ref)} from ${ref.registry}: no mirror had it`);
      return { client, ref: candidate.ref, fetched };
    } catch (err) {
      if (!candidate.mapped) throw err;
      const reason = err instanceof KilnError ? err.message : String(err);
      failures.push(`${candidate.ref.registry}: ${reason}`);
      opts.log(`skipping mirror ${candidate.ref.registry} for ${formatReference(ref)}: ${reason}; trying the next registry`);
    }
  }
  throw new KilnError('IMAGE_NOT_FOUND', `image ${formatReference(ref)} not found on any mapped registry (${failures.join('; ')})`, {
    hint: 'drop --skip-default-registry-fallback to fall back to the original registry',
  });
}

/** The image for `ref` (for an index: the entry for the platform). Layers download lazily. */
export async function remoteImage(ref: Reference, opts: RegistryOptions, pull: PullOptions = {}): Promise<Image> {
  const session = pull.session ?? new RegistrySession(opts);
  const resolved = await getManifest(ref, opts, session);
  let { fetched } = resolved;
  let childRef = resolved.ref;
  // Nested indexes are rare but legal: follow them down to an image.
  for (let depth = 0; isIndexMediaType(fetched.mediaType); depth++) {
    if (depth > 4) throw new KilnError('MANIFEST_UNSUPPORTED', `${formatReference(ref)}: indexes nested too deeply`);
    const chosen = selectManifest(fetched.json as IndexManifest, pull.platform ?? hostPlatform(), formatReference(ref));
    childRef = withDigest(resolved.ref, chosen.digest);
    fetched = await fetchManifest(resolved.client, childRef);
  }
  return new RemoteImage(resolved.client, childRef, fetched);
}

/** The index for `ref`; KilnError when the reference names a single image. */
export async function remoteIndex(ref: Reference, opts: RegistryOptions, pull: PullOptions = {}): Promise<RemoteIndex> {
  const session = pull.session ?? new RegistrySession(opts);
  const resolved = await getManifest(ref, opts, session);
  if (!isIndexMediaType(resolved.fetched.mediaType)) {
    throw new KilnError('MANIFEST_UNSUPPORTED', `${formatReference(ref)} is a single image (${resolved.fetched.mediaType}), not an index`);
  }
  return new RemoteIndex(resolved.client, resolved.ref, resolved.fetched);
}
