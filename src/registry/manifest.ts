/** Fetching manifests and indexes: the Accept list, digest checks, and what kind of document came back. */
import { sha256Digest } from '../image/digest.ts';
import { KilnError } from '../errors.ts';
import type { IndexManifest, Manifest } from '../image/types.ts';
import { MediaType } from '../image/types.ts';
import { repositoryScope } from './challenge.ts';
import type { RegistryClient } from './client.ts';
import { manifestIdentifier } from './reference.ts';
import type { Reference } from './reference.ts';
import { retryPolicyOf } from './options.ts';
import { withRetry } from './transport.ts';

export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ');
const MAX_MANIFEST_BYTES = 4 << 20;

export interface FetchedManifest {
  raw: Buffer;
  mediaType: string;
  digest: string;
  /** Parsed JSON (Manifest or IndexManifest, see isIndex). */
  json: Manifest | IndexManifest;
}

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

/** GET (or HEAD) a manifest by the reference's digest or tag. Pulling by digest verifies the bytes. */
export async function fetchManifest(client: RegistryClient, ref: Reference, identifier = manifestIdentifier(ref)): Promise<FetchedManifest> {
  const ctx = { registry: ref.registry, repository: ref.repository, action: `pulling manifest ${identifier}` };
  const policy = retryPolicyOf(client.opts, 'pull');
  return withRetry(`pulling manifest ${identifier} from ${client.registry}`, policy, async () => {
    const res = await client.expect(
      { method: 'GET', path: `/v2/${ref.repository}/manifests/${identifier}`, scopes: [repositoryScope(ref.repository, 'pull')], headers: { accept: MANIFEST_ACCEPT } },
      ctx,
      [200],
      'manifest',
    );
    const length = Number(res.headers['content-length'] ?? 0);
    if (length > MAX_MANIFEST_BYTES) {
      res.body.destroy();
      throw new KilnError('MANIFEST_INVALID', `manifest ${identifier} of ${ref.registry}/${ref.repository} is ${length} bytes, larger than allowed`);
    }
    const raw = Buffer.from(await res.body.arrayBuffer());
    return parseFetched(raw, String(res.headers['content-type'] ?? ''), identifier, ref);
  });
}

function parseFetched(raw: Buffer, contentType: string, identifier: string, ref: Reference): FetchedManifest {
  const digest = sha256Digest(raw);
  if (identifier.startsWith('sha256:') && identifier !== digest) {
    throw new KilnError('MANIFEST_DIGEST_MISMATCH', `manifest of ${ref.registry}/${ref.repository}@${identifier} has digest ${digest}`);
  }
  let json: Manifest | IndexManifest;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new KilnError('MANIFEST_INVALID', `manifest ${identifier} of ${ref.registry}/${ref.repository} is not JSON`);
  }
  const mediaType = json.mediaType || contentType.split(';')[0].trim() || ('manifests' in json ? MediaType.ociIndex : MediaType.ociManifest);
  if ((json as { schemaVersion?: number }).schemaVersion !== 2) {
    throw new KilnError('MANIFEST_UNSUPPORTED', `manifest ${identifier} of ${ref.registry}/${ref.repository} is schema version ${(json as { schemaVersion?: number }).schemaVersion}; only schema 2 / OCI is supported`);
  }
  return { raw, mediaType, digest, json };
}

/** HEAD a manifest: its digest, or undefined when absent. */
export async function headManifest(client: RegistryClient, ref: Reference, identifier: string, scopes: string[]): Promise<{ digest?: string; mediaType?: string } | undefined> {
  const ctx = { registry: ref.registry, repository: ref.repository, action: `checking manifest ${identifier}` };
  const res = await client.expect({ method: 'HEAD', path: `/v2/${ref.repository}/manifests/${identifier}`, scopes, headers: { accept: MANIFEST_ACCEPT } }, ctx, [200, 404], 'manifest');
  await res.body.dump();
  if (res.statusCode === 404) return undefined;
  const digest = res.headers['docker-content-digest'];
  const type = res.headers['content-type'];
  return { ...(typeof digest === 'string' && { digest }), ...(typeof type === 'string' && { mediaType: type }) };
}
