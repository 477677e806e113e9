/**
 * Pushing an image to one or more destinations: blobs first (config, then layers), the manifest last so
 * a registry never holds a manifest pointing at a missing blob. Destinations in one registry share the
 * bytes: the first repository gets the upload, the others mount from it.
 */
import { KilnError } from '../errors.ts';
import type { Image, Layer } from '../image/types.ts';
import { Readable } from 'node:stream';
import { pushScopes } from './challenge.ts';
import { uploadBlob } from './blob-upload.ts';
import type { BlobSource, UploadOutcome, UploadTarget } from './blob-upload.ts';
import { httpError, readErrorBody } from './errors.ts';
import { sha256Digest } from '../image/digest.ts';
import { retryPolicyOf, type RegistryOptions } from './options.ts';
import { formatReference, manifestIdentifier } from './reference.ts';
import type { Reference } from './reference.ts';
import type { RegistrySession } from './session.ts';
import { withSession } from './session.ts';
import { eitherSignal, withRetry } from './transport.ts';

export interface PushOptions {
  session?: RegistrySession;
  /** Blobs uploaded at once per repository. Default 3. */
  concurrency?: number;
  /** Layers uploaded while the build went on: not uploaded again. */
  early?: EarlyUploads;
}

export interface PushResult {
  /** Digest of the pushed manifest. */
  digest: string;
  /** Per destination, what happened to the manifest ("pushed" or "immutable-tag-kept"). */
  destinations: { ref: Reference; outcome: 'pushed' | 'immutable-tag-kept' }[];
  /** How each blob got to each repository, summed over repositories. */
  blobs: Record<UploadOutcome, number>;
}

interface RepositoryGroup {
  registry: string;
  repository: string;
  refs: Reference[];
}

/** Pushes `image` to every ref; returns the manifest digest. */
export async function pushImage(image: Image, refs: Reference[], opts: RegistryOptions, push: PushOptions = {}): Promise<PushResult> {
  if (refs.length === 0) throw new KilnError('NO_DESTINATION', 'no destination to push to');
  const [rawManifest, mediaType, manifest, rawConfig, layers] = await Promise.all([image.rawManifest(), image.mediaType(), image.manifest(), image.rawConfigFile(), image.layers()]);
  const digest = sha256Digest(rawManifest);
  for (const ref of refs) {
    if (ref.digest && ref.digest !== digest) {
      throw new KilnError('DIGEST_MISMATCH', `cannot push to ${formatReference(ref)}: the image's manifest digest is ${digest}`);
    }
  }
  if (layers.length !== manifest.layers.length) throw new KilnError('IMAGE_INVALID', 'image has a different number of layers than its manifest lists');

  const configBlob: BlobSource = { digest: manifest.config.digest, size: manifest.config.size, open: async () => Readable.from([rawConfig]) };
  if (sha256Digest(rawConfig) !== configBlob.digest) throw new KilnError('IMAGE_INVALID', `image config does not match its manifest digest ${configBlob.digest}`);
  const layerBlobs = manifest.layers.map((d, i): BlobSource => ({ digest: d.digest, size: d.size, open: () => layers[i].compressed() }));

  return withSession(opts, push.session, async (session) => {
    const destinations: PushResult['destinations'] = [];
    const stats: Record<UploadOutcome, number> = { exists: 0, mounted: 0, uploaded: 0 };
    for (const sameRegistry of groupByRegistry(refs)) {
      let uploadedTo: string | undefined;
      for (const group of sameRegistry) {
        const mountSources = layers.map((layer) => mountSource(layer, group.registry, uploadedTo));
        const target: UploadTarget = {
          client: session.client(group.registry, 'push'),
          repository: group.repository,
          scopes: pushScopes(group.repository, mountSources.filter((s): s is string => s !== undefined)),
        };
        const policy = retryPolicyOf(opts, 'push');
        const blobs = [{ ...configBlob, ...(uploadedTo && { mountFrom: uploadedTo }) }, ...layerBlobs.map((b, i) => ({ ...b, ...(mountSources[i] && { mountFrom: mountSources[i] }) }))];
        await forEachLimited(blobs, push.concurrency ?? 3, async (blob) => {
          if (await push.early?.holds(group.registry, group.repository, blob.digest)) {
            stats.uploaded++;
            return;
          }
          await withRetry(`uploading ${blob.digest} to ${group.registry}/${group.repository}`, policy, async () => {
            stats[await uploadBlob(target, blob)]++;
          });
        });
        uploadedTo = group.repository;
        for (const ref of group.refs) {
          const outcome = await withRetry(`pushing manifest to ${formatReference(ref)}`, policy, () => putManifest(target, ref, rawManifest, mediaType, digest, opts));
          destinations.push({ ref, outcome });
        }
      }
    }
    return { digest, destinations, blobs: stats };
  });
}

/**
 * Layer blobs uploaded while the build still runs (the "push blobs while later steps run"): each layer
 * offered goes to the first destination repository of every registry (the others mount it at push time), one
 * upload at a time beside the build. A failed early upload is only noted: pushImage uploads that blob again.
 * The manifest still goes last, so a failed build leaves at most unreferenced blobs, never a tag.
 */
export class EarlyUploads {
  readonly #targets: UploadTarget[];
  readonly #policy: ReturnType<typeof retryPolicyOf>;
  /** One per upload, in order: `registry/repository@digest` once it is there, undefined when it failed. */
  readonly #uploads: Promise<string | undefined>[] = [];
  readonly #log: (message: string) => void;
  readonly #signal: AbortSignal;

  /** `signal` stops the uploads (the build failed) without touching the session, which the push goes on with. */
  constructor(refs: Reference[], opts: RegistryOptions, session: RegistrySession, signal: AbortSignal) {
    this.#signal = signal;
    this.#targets = groupByRegistry(refs).map(([group]) => ({
      client: session.client(group.registry, 'push'), repository: group.repository, scopes: pushScopes(group.repository, []), signal,
    }));
    const policy = retryPolicyOf(opts, 'push');
    this.#policy = { ...policy, signal: eitherSignal(policy.signal, signal) };
    this.#log = opts.log;
  }

  /** Queues `layer`'s blob for upload (one upload at a time, beside the build); returns at once. */
  offer(layer: Layer): void {
    for (const target of this.#targets) {
      const previous = this.#uploads.at(-1) ?? Promise.resolve(undefined);
      this.#uploads.push(previous.then(async () => {
        const [digest, size] = await Promise.all([layer.digest(), layer.size()]);
        await withRetry(`uploading ${digest} to ${target.client.registry}/${target.repository}`, this.#policy,
          () => uploadBlob(target, { digest, size, open: () => layer.compressed() }));
        return `${target.client.registry}/${target.repository}@${digest}`;
      }).catch((err: unknown) => {
        // Stopped on purpose (the build failed, or was interrupted): nothing to say.
        if (!this.#signal.aborted) this.#log(`uploading a layer early failed; the push uploads it again: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      }));
    }
  }

  /** Whether an early upload put `digest` into `registry/repository` (waits for the uploads queued so far). */
  async holds(registry: string, repository: string, digest: string): Promise<boolean> {
    return (await Promise.all(this.#uploads)).includes(`${registry}/${repository}@${digest}`);
  }

  /** Waits for what is in flight to end (after the caller aborted it, quickly). */
  async settle(): Promise<void> {
    await Promise.all(this.#uploads);
  }
}

/**
 * Pushes an image index (raw bytes) to every ref. The images it lists must already be in each ref's
 * repository (pushed by digest first), so no tag ever names an index with a missing manifest.
 */
export async function pushIndexManifest(raw: Buffer, mediaType: string, refs: Reference[], opts: RegistryOptions, push: PushOptions = {}): Promise<PushResult> {
  if (refs.length === 0) throw new KilnError('NO_DESTINATION', 'no destination to push to');
  const digest = sha256Digest(raw);
  for (const ref of refs) {
    if (ref.digest && ref.digest !== digest) throw new KilnError('DIGEST_MISMATCH', `cannot push to ${formatReference(ref)}: the image index's digest is ${digest}`);
  }
  return withSession(opts, push.session, async (session) => {
    const destinations: PushResult['destinations'] = [];
    for (const group of groupByRegistry(refs).flat()) {
      const target: UploadTarget = { client: session.client(group.registry, 'push'), repository: group.repository, scopes: pushScopes(group.repository, []) };
      for (const ref of group.refs) {
        const outcome = await withRetry(`pushing image index to ${formatReference(ref)}`, retryPolicyOf(opts, 'push'), () => putManifest(target, ref, raw, mediaType, digest, opts));
        destinations.push({ ref, outcome });
      }
    }
    return { digest, destinations, blobs: { exists: 0, mounted: 0, uploaded: 0 } };
  });
}

/** Same-registry mount source: the repository pushed just before, else the layer's own repository. */
function mountSource(layer: Layer, registry: string, uploadedTo: string | undefined): string | undefined {
  if (uploadedTo) return uploadedTo;
  const source = (layer as { source?: { registry: string; repository: string } }).source;
  return source && source.registry === registry ? source.repository : undefined;
}

function groupByRegistry(refs: Reference[]): RepositoryGroup[][] {
  const registries = new Map<string, Map<string, RepositoryGroup>>();
  for (const ref of refs) {
    let repos = registries.get(ref.registry);
    if (!repos) registries.set(ref.registry, (repos = new Map()));
    let group = repos.get(ref.repository);
    if (!group) repos.set(ref.repository, (group = { registry: ref.registry, repository: ref.repository, refs: [] }));
    group.refs.push(ref);
  }
  return [...registries.values()].map((repos) => [...repos.values()]);
}

async function putManifest(target: UploadTarget, ref: Reference, raw: Buffer, mediaType: string, digest: string, opts: RegistryOptions): Promise<'pushed' | 'immutable-tag-kept'> {
  const identifier = ref.tag ?? manifestIdentifier(ref);
  const ctx = { registry: ref.registry, repository: ref.repository, action: `pushing manifest ${identifier}` };
  const res = await target.client.request(
    { method: 'PUT', path: `/v2/${ref.repository}/manifests/${identifier}`, scopes: target.scopes, headers: { 'content-type': mediaType }, body: raw },
    ctx,
  );
  if (res.statusCode === 201 || res.statusCode === 200 || res.statusCode === 202) {
    const returned = res.headers['docker-content-digest'];
    await res.body.dump();
    if (typeof returned === 'string' && returned !== digest) {
      throw new KilnError('DIGEST_MISMATCH', `registry stored the manifest for ${formatReference(ref)} as ${returned}, expected ${digest}`);
    }
    return 'pushed';
  }
  if (opts.pushIgnoreImmutableTagErrors && (res.statusCode === 400 || res.statusCode === 409 || res.statusCode === 403)) {
    const detail = await readErrorBody(res);
    if (isImmutableTagError(detail)) {
      opts.log(`tag ${identifier} of ${ref.registry}/${ref.repository} is immutable and already exists; keeping it (${detail})`);
      return 'immutable-tag-kept';
    }
    throw new KilnError('REGISTRY_ERROR', `registry ${ref.registry}/${ref.repository} answered HTTP ${res.statusCode} while ${ctx.action}: ${detail}`);
  }
  throw await httpError(ctx, res, 'other');
}

/** ECR, GAR, Harbor and others word immutable-tag refusals differently. */
export function isImmutableTagError(detail: string): boolean {
  return /immutable|ImageTagAlreadyExists|tag already exists|cannot be overwritten|TAG_INVALID/i.test(detail);
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}
