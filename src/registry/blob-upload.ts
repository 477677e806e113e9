/**
 * Putting one blob into a repository: HEAD to skip what exists, cross-repository mount, then a
 * monolithic (POST + PUT) or chunked (POST + PATCH… + PUT) upload, per the distribution spec.
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import { KilnError } from '../errors.ts';
import type { RegistryClient } from './client.ts';
import { httpError } from './errors.ts';
import type { ErrorContext } from './errors.ts';

export interface BlobSource {
  digest: string;
  size: number;
  /** A fresh stream of the blob's bytes (called again on a retry). */
  open: () => Promise<Readable>;
  /** Repository in the same registry to mount from, if known. */
  mountFrom?: string;
}

export type UploadOutcome = 'exists' | 'mounted' | 'uploaded';

export interface UploadTarget {
  client: RegistryClient;
  repository: string;
  /** Scopes of the whole push (push on the target, pull on mount sources), so one token serves all. */
  scopes: string[];
  /** Stops this target's requests (early uploads of a build that failed), beside the session's own signal. */
  signal?: AbortSignal;
}

export async function blobExists(target: UploadTarget, digest: string): Promise<boolean> {
  const ctx = { registry: target.client.registry, repository: target.repository, action: `checking blob ${digest}` };
  const res = await target.client.expect({ method: 'HEAD', path: `/v2/${target.repository}/blobs/${digest}`, scopes: target.scopes, signal: target.signal }, ctx, [200, 404], 'other');
  await res.body.dump();
  return res.statusCode === 200;
}

/** Uploads `blob` to the target repository unless it is there already or can be mounted. */
export async function uploadBlob(target: UploadTarget, blob: BlobSource): Promise<UploadOutcome> {
  if (await blobExists(target, blob.digest)) return 'exists';
  const ctx: ErrorContext = { registry: target.client.registry, repository: target.repository, action: `uploading blob ${blob.digest}` };
  let location: string;
  if (blob.mountFrom && blob.mountFrom !== target.repository) {
    const query = new URLSearchParams({ mount: blob.digest, from: blob.mountFrom });
    const res = await target.client.expect({ method: 'POST', path: `/v2/${target.repository}/blobs/uploads/?${query}`, scopes: target.scopes, signal: target.signal, body: '' }, ctx, [201, 202]);
    const header = res.headers.location;
    await res.body.dump();
    if (res.statusCode === 201) return 'mounted';
    location = await resolveLocation(target.client, header, ctx);
  } else {
    location = await startUpload(target, ctx);
  }
  const chunkSize = target.client.opts.chunkSize;
  const tracker = target.client.opts.progress?.start('push', blob.digest, blob.size, `${target.client.registry}/${target.repository}`);
  const source: BlobSource = tracker ? { ...blob, open: async () => counted(await blob.open(), (n) => tracker.advance(n)) } : blob;
  try {
    if (chunkSize > 0 && blob.size > chunkSize) await uploadChunked(target, source, location, chunkSize, ctx);
    else await uploadMonolithic(target, source, location, ctx);
  } catch (err) {
    tracker?.abandon();
    throw err;
  }
  tracker?.done();
  return 'uploaded';
}

/** The same bytes, reporting each chunk's size as it passes (for progress). */
function counted(stream: Readable, onBytes: (n: number) => void): Readable {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
  pipeline(stream, counter, () => {});
  return counter;
}

/** POST /blobs/uploads/ → the upload URL. */
export async function startUpload(target: UploadTarget, ctx: ErrorContext): Promise<string> {
  const res = await target.client.expect({ method: 'POST', path: `/v2/${target.repository}/blobs/uploads/`, scopes: target.scopes, signal: target.signal, body: '' }, ctx, [202]);
  await res.body.dump();
  return resolveLocation(target.client, res.headers.location, ctx);
}

async function resolveLocation(client: RegistryClient, header: string | string[] | undefined, ctx: ErrorContext): Promise<string> {
  if (typeof header !== 'string' || header === '') {
    throw new KilnError('REGISTRY_ERROR', `registry ${ctx.registry} gave no upload location while ${ctx.action}`);
  }
  const { baseUrl } = await client.ping(ctx);
  return new URL(header, baseUrl).toString();
}

function withDigestQuery(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

async function uploadMonolithic(target: UploadTarget, blob: BlobSource, location: string, ctx: ErrorContext): Promise<void> {
  const body = await blob.open();
  try {
    const res = await target.client.expect(
      {
        method: 'PUT',
        path: withDigestQuery(location, blob.digest),
        scopes: target.scopes, signal: target.signal,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
        body,
      },
      ctx,
      [201, 204],
    );
    await res.body.dump();
  } finally {
    body.destroy();
  }
}

/** PATCH the blob in chunks (the spec's "chunked upload"), then PUT ?digest= with no body. */
async function uploadChunked(target: UploadTarget, blob: BlobSource, location: string, chunkSize: number, ctx: ErrorContext): Promise<void> {
  const stream = await blob.open();
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const res = await target.client.expect(
      {
        method: 'PATCH',
        path: location,
        scopes: target.scopes, signal: target.signal,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(chunk.length), 'content-range': `${offset}-${offset + chunk.length - 1}` },
        body: chunk,
      },
      ctx,
      [202, 204],
    );
    await res.body.dump();
    offset += chunk.length;
    location = await resolveLocation(target.client, res.headers.location ?? location, ctx);
  };
  try {
    // Holds at most one chunk in memory: the upload is sequential by protocol.
    for await (const data of stream as AsyncIterable<Buffer>) {
      let rest = data;
      while (rest.length > 0) {
        const take = Math.min(chunkSize - pendingBytes, rest.length);
        pending.push(rest.subarray(0, take));
        pendingBytes += take;
        rest = rest.subarray(take);
        if (pendingBytes === chunkSize) await flush();
      }
    }
    if (pendingBytes > 0) await flush();
  } finally {
    stream.destroy();
  }
  if (offset !== blob.size) throw new KilnError('BLOB_SIZE_MISMATCH', `blob ${blob.digest} should be ${blob.size} bytes, read ${offset}`);
  const res = await target.client.request(
    { method: 'PUT', path: withDigestQuery(location, blob.digest), scopes: target.scopes, signal: target.signal, headers: { 'content-length': '0' }, body: '' },
    ctx,
  );
  if (res.statusCode !== 201 && res.statusCode !== 204) throw await httpError(ctx, res);
  await res.body.dump();
}
