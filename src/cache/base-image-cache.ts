/**
 * The base-image cache (kaniko's --cache-dir): one standard OCI image layout holding images by digest.
 * Each index.json entry is one platform's image manifest, annotated with the reference it was fetched
 * for and when, so a build finds a base image without asking a registry: a tag is fresh for --cache-ttl,
 * a digest reference forever (its content cannot change).
 *
 * Written by the one OCI layout writer (image/oci-layout-write.ts): blobs are renamed into place only once
 * complete and verified, and index.json is replaced by rename under the layout's lock, so a reader never
 * sees a half-written entry and warmers or builds writing at once never lose each other's entries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.ts';
import { isForeignDir, writeOciLayout } from '../image/oci-layout-write.ts';
import { ociBlobPath, ociLayoutImage } from '../image/oci-layout.ts';
import { formatPlatform, platformMatches, selectPlatform } from '../image/platform.ts';
import type { Descriptor, Image, IndexManifest, Manifest, Platform } from '../image/types.ts';
import { formatReference, parseReference, type Reference } from '../registry/reference.ts';

/** The normalised reference the entry was fetched for ("docker.io/library/busybox:latest"). */
export const CACHE_REFERENCE_ANNOTATION = 'dev.kiln.cache.reference';
/** When the entry was fetched (RFC 3339, UTC). */
export const CACHE_FETCHED_ANNOTATION = 'dev.kiln.cache.fetched';

export interface CacheEntry {
  reference: string;
  digest: string;
  platform?: Platform;
  fetched: Date;
  descriptor: Descriptor;
}

export type CacheLookup =
  | { kind: 'hit'; entry: CacheEntry; image: Promise<Image> }
  | { kind: 'miss'; reason: 'absent' | 'expired' | 'incomplete'; entry?: CacheEntry };

export interface LookupOptions {
  /** --cache-ttl in ms; tags older than this are expired. */
  ttlMs: number;
  now?: Date;
}

/** The key an image name is cached under: Docker's normalised reference. */
export function cacheKey(name: string | Reference): string {
  return formatReference(typeof name === 'string' ? parseReference(name) : name);
}

function layoutExists(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'oci-layout')) && fs.existsSync(path.join(dir, 'index.json'));
}

function readIndex(dir: string): IndexManifest | undefined {
  if (!layoutExists(dir)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as IndexManifest;
  } catch (err) {
    throw new KilnError('CACHE_INVALID', `base-image cache ${dir}: index.json is not valid JSON`, {
      cause: err,
      hint: 'remove the directory and run kiln warm again',
    });
  }
}

function toEntry(d: Descriptor): CacheEntry | undefined {
  const reference = d.annotations?.[CACHE_REFERENCE_ANNOTATION];
  const fetched = d.annotations?.[CACHE_FETCHED_ANNOTATION];
  if (reference === undefined || fetched === undefined) return undefined;
  const time = new Date(fetched);
  if (Number.isNaN(time.getTime())) return undefined;
  return { reference, digest: d.digest, fetched: time, descriptor: d, ...(d.platform ? { platform: d.platform } : {}) };
}

/** Every entry the warmer wrote (entries other tools added are left alone and not listed). */
export function listCacheEntries(dir: string): CacheEntry[] {
  return (readIndex(dir)?.manifests ?? []).map(toEntry).filter((e): e is CacheEntry => e !== undefined);
}

export function isFresh(entry: CacheEntry, options: LookupOptions): boolean {
  if (parseReference(entry.reference).digest !== undefined) return true;
  const age = (options.now ?? new Date()).getTime() - entry.fetched.getTime();
  return age <= options.ttlMs;
}

/** Whether every blob the entry needs is on disk (a cache dir can be pruned or copied partially). */
function isComplete(dir: string, entry: CacheEntry): boolean {
  const manifestFile = ociBlobPath(dir, entry.digest);
  if (!fs.existsSync(manifestFile)) return false;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
  } catch {
    return false;
  }
  return [manifest.config, ...(manifest.layers ?? [])].every((d) => d && fs.existsSync(ociBlobPath(dir, d.digest)));
}

/** The cached image for `name` on `platform`, when present, fresh and complete. Never touches the network. */
export function lookupCachedImage(dir: string, name: string, platform: Platform, options: LookupOptions): CacheLookup {
  const ref = parseReference(name);
  const key = cacheKey(ref);
  const entries = listCacheEntries(dir).filter((e) => e.reference === key || (ref.digest !== undefined && e.digest === ref.digest));
  const i = selectPlatform(platform, entries.map((e) => e.platform));
  if (i < 0) return { kind: 'miss', reason: 'absent' };
  // Several fetches of one tag for one platform: the newest counts.
  const entry = entries
    .filter((e) => !e.platform || platformMatches(platform, e.platform))
    .reduce((a, b) => (b.fetched > a.fetched ? b : a), entries[i]);
  // Asked by digest, the content cannot have changed, whatever the entry was fetched as.
  const pinned = ref.digest !== undefined && ref.digest === entry.digest;
  if (!pinned && !isFresh(entry, options)) return { kind: 'miss', reason: 'expired', entry };
  if (!isComplete(dir, entry)) return { kind: 'miss', reason: 'incomplete', entry };
  return { kind: 'hit', entry, image: ociLayoutImage(dir, { digest: entry.digest }) };
}

function samePlatform(a: Platform | undefined, b: Platform | undefined): boolean {
  return (a ? formatPlatform(a) : '') === (b ? formatPlatform(b) : '');
}

/**
 * Stores `image` as the entry for `name` (replacing an earlier entry for the same reference and platform).
 * Returns the new index entry.
 */
export async function storeCachedImage(dir: string, name: string, image: Image, fetched: Date = new Date()): Promise<CacheEntry> {
  const key = cacheKey(name);
  if (isForeignDir(dir)) {
    throw new KilnError('CACHE_INVALID', `base-image cache ${dir} exists and is not an OCI image layout`, {
      hint: 'choose an empty or missing directory for --cache-dir',
    });
  }
  const config = await image.configFile();
  const platform: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  const descriptor = await writeOciLayout(dir, image, {
    refName: key,
    platform,
    annotations: { [CACHE_REFERENCE_ANNOTATION]: key, [CACHE_FETCHED_ANNOTATION]: fetched.toISOString() },
    replaces: (d) => {
      const e = toEntry(d);
      return e !== undefined && e.reference === key && samePlatform(e.platform, platform);
    },
  });
  return toEntry(descriptor)!;
}
