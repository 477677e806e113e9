/**
 * The deterministic layer writer: tar entries in, a stored layer out. One streaming pass produces the tar
 * (sorted entries, normalised headers), its sha256 (diffID), the compressed blob, the blob's sha256 (digest)
 * and size; the blob lands in a BlobStore by atomic rename. Memory stays bounded by a few chunk buffers.
 */
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KilnError } from '../errors.ts';
import type { BlobInfo, BlobStore } from '../image/blob-store.ts';
import { compressor, layerMediaType, type Compression } from '../image/compression.ts';
import { blobStoreLayer, type KnownLayer } from '../image/layer.ts';
import type { OrderedHash } from '../image/ordered-hash.ts';
import { garbageCollector } from './layer/buffer-garbage.ts';
import { BufferPool } from './layer/buffer-pool.ts';
import type { DeflatePool } from './layer/deflate-pool.ts';
import { HashThread, type HashThreadOptions } from './layer/hash-thread.ts';
import { writePooledGzip } from './layer/pooled-gzip-layer.ts';
import { BLOCK, compareTarPaths, encodeTarHeader, entrySize, layerPath, tarTrailer, type TarEntry } from './tar-entry.ts';

export interface LayerWriteOptions {
  store: BlobStore;
  /** Default gzip. */
  compression?: Compression;
  /** gzip 0–9 (default 6), zstd 1–22 (default 3). */
  compressionLevel?: number;
  /** Media type names for the layer (default oci). */
  mediaTypes?: 'oci' | 'docker';
  /** Zero all mtimes (unless sourceDateEpoch is given). */
  reproducible?: boolean;
  /** Clamp mtimes to this time (seconds), as SOURCE_DATE_EPOCH does. */
  sourceDateEpoch?: number;
  /**
   * gzip in parallel chunks on worker threads (pigz style; default true). The bytes depend on this flag but
   * not on the number of threads; a layer smaller than one chunk is identical either way.
   */
  parallel?: boolean;
  /** Worker pool shared across layers; without one, parallel gzip starts and stops its own. */
  deflatePool?: DeflatePool;
  /** Bytes per parallel gzip chunk (default 1 MiB). */
  gzipChunkSize?: number;
  /** Reusable tar/chunk buffers for parallel gzip, shared across layers (used when its size is the chunk size). */
  layerBuffers?: BufferPool;
  /**
   * When the parallel gzip path hashes on a worker thread (layer/hash-thread.ts). Default: only for a list of
   * entries whose files hold at least 192 MiB; given, for any layer (tests, benchmarks).
   */
  hashThread?: HashThreadOptions;
}

const FRESH_BATCH = 1 << 20;

/**
 * File bytes from which a layer's two sha256 move to a worker thread. Below, the worker's start (~95 ms of CPU,
 * ~17–20 MB resident) costs more than the hashing it takes off the main thread (~1.3 ms per MiB of incompressible
 * tar, less for compressible data, where deflate rather than hashing is the bottleneck). At 64 MiB the bench's
 * copyctx (100 MB) and apt layers took it, and Kiln's peak RSS went past issue 11's 150 MB (134 → 151 MB, 132 →
 * 160 MB); from 192 MiB only layers like bigfile's (256 MiB, 130 MB peak with the worker) do.
 */
const OFF_THREAD_BYTES = 192 << 20;

/** The file bytes of a list of entries, as far as known before reading (a wrong size fails later, as ever). */
function knownFileBytes(entries: readonly TarEntry[]): number {
  let n = 0;
  for (const e of entries) {
    if (e.type === 'file') n += e.size ?? (Buffer.isBuffer(e.content) ? e.content.length : 0);
  }
  return n;
}

/** Applies the writer's normalisation to one entry: clean path, mode bits, times. */
export function normalizeEntry(e: TarEntry, options: Pick<LayerWriteOptions, 'reproducible' | 'sourceDateEpoch'>): TarEntry {
  let mtime = Math.max(0, Math.floor(e.mtime));
  if (options.sourceDateEpoch !== undefined) mtime = Math.min(mtime, options.sourceDateEpoch);
  else if (options.reproducible) mtime = 0;
  const out: TarEntry = { ...e, path: layerPath(e.path), mode: e.mode & 0o7777, mtime };
  if (e.type === 'hardlink') out.linkname = layerPath(e.linkname ?? '');
  if (e.type !== 'file') {
    delete out.content;
    delete out.size;
  }
  return out;
}

/** Sorted copy of an entry list in layer order. */
export function sortEntries(entries: readonly TarEntry[]): TarEntry[] {
  // Each entry's layer path once, not once per comparison; a list already in order (a snapshot's) is not sorted.
  const keyed = entries.map((entry) => ({ key: layerPath(entry.path), entry }));
  let sorted = true;
  for (let i = 1; i < keyed.length && sorted; i++) sorted = compareTarPaths(keyed[i - 1]!.key, keyed[i]!.key) < 0;
  if (!sorted) keyed.sort((a, b) => compareTarPaths(a.key, b.key));
  return keyed.map(({ entry }) => entry);
}

/**
 * Streams the tar bytes of sorted entries in batches, hashing them into `hash`. Every batch but the last is
 * full. Without `buffers`, each batch is a fresh 1 MiB buffer (dead ones are collected as it goes,
 * buffer-garbage.ts); with a pool, batches are `buffers.size` bytes, acquired from it for the caller to release.
 */
export async function* tarStream(
  entries: Iterable<TarEntry> | AsyncIterable<TarEntry>,
  options: Pick<LayerWriteOptions, 'reproducible' | 'sourceDateEpoch'>,
  hash?: Hash,
  buffers?: BufferPool,
): AsyncGenerator<Buffer> {
  const batchSize = buffers?.size ?? FRESH_BATCH;
  const collect = buffers ? undefined : garbageCollector();
  const acquire = (): Buffer => buffers?.acquire() ?? Buffer.allocUnsafe(batchSize);
  let buf = acquire();
  let pos = 0;
  const take = (): Buffer => {
    const out = buf.subarray(0, pos);
    hash?.update(out);
    collect?.(out.length);
    buf = acquire();
    pos = 0;
    return out;
  };
  let previous: string | undefined;
  const files = new Set<string>();

  for await (const raw of entries) {
    const e = normalizeEntry(raw, options);
    if (previous !== undefined && compareTarPaths(previous, e.path) >= 0) {
      throw new KilnError('LAYER_ENTRIES_UNSORTED', `layer entries out of order or duplicated: "${previous}" then "${e.path}"`);
    }
    previous = e.path;
    if (e.type === 'hardlink' && !files.has(e.linkname!)) {
      throw new KilnError('LAYER_HARDLINK_TARGET', `hardlink "${e.path}" points to "${e.linkname}", which is not an earlier file of the layer`);
    }
    if (e.type === 'file') files.add(e.path);

    const header = encodeTarHeader(e);
    for (let off = 0; off < header.length; ) {
      const n = header.copy(buf, pos, off);
      pos += n;
      off += n;
      if (pos === batchSize) yield take();
    }
    const size = entrySize(e);
    if (e.type === 'file' && size > 0) {
      const content = e.content;
      if (Buffer.isBuffer(content)) {
        if (content.length !== size) {
          throw new KilnError('INVALID_TAR_ENTRY', `tar entry "${e.path}": size ${size} but ${content.length} bytes of content`);
        }
        for (let off = 0; off < size; ) {
          const n = content.copy(buf, pos, off);
          pos += n;
          off += n;
          if (pos === batchSize) yield take();
        }
      } else if (content !== undefined) {
        const fd = fs.openSync(content.path, 'r');
        try {
          for (let left = size; left > 0; ) {
            const n = fs.readSync(fd, buf, pos, Math.min(left, batchSize - pos), null);
            if (n === 0) {
              throw new KilnError('LAYER_FILE_CHANGED', `${content.path} shrank while it was being added to a layer`, {
                hint: 'something else is writing to the build filesystem',
              });
            }
            pos += n;
            left -= n;
            if (pos === batchSize) yield take();
          }
        } finally {
          fs.closeSync(fd);
        }
      } else {
        throw new KilnError('INVALID_TAR_ENTRY', `tar entry "${e.path}" has size ${size} but no content`);
      }
      let pad = (BLOCK - (size % BLOCK)) % BLOCK;
      while (pad > 0) {
        const n = Math.min(pad, batchSize - pos);
        buf.fill(0, pos, pos + n);
        pos += n;
        pad -= n;
        if (pos === batchSize) yield take();
      }
    }
  }
  const trailer = tarTrailer();
  for (let off = 0; off < trailer.length; ) {
    const n = trailer.copy(buf, pos, off);
    pos += n;
    off += n;
    if (pos === batchSize) yield take();
  }
  if (pos > 0) yield take();
  else buffers?.release(buf);
}

interface WrittenLayer {
  info: BlobInfo;
  diffID: string;
}

/**
 * Parallel gzip: tar batches from reusable buffers straight into the blob file (layer/pooled-gzip-layer.ts).
 * Both sha256 (diffID and digest) run on a hash thread when the layer is big (layer/hash-thread.ts).
 */
async function writeGzipLayer(
  entries: Iterable<TarEntry> | AsyncIterable<TarEntry>,
  options: LayerWriteOptions,
  fileBytes: number | undefined,
): Promise<WrittenLayer> {
  const chunkSize = options.gzipChunkSize ?? 1 << 20;
  // A big layer starts the worker at once: it is online ~80 ms later, while the first 8 MiB are held for it.
  const threadOptions = options.hashThread ?? (fileBytes !== undefined && fileBytes >= OFF_THREAD_BYTES ? { startAfter: 0 } : { offThread: false });
  // Shared memory only where the worker may read it: each SharedArrayBuffer is a fresh zeroed allocation that
  // V8 counts as external memory, ~10 ms per small layer in GC and allocation (runheavy's ten RUN layers: 120 ms).
  const shared = threadOptions.offThread !== false;
  const buffers = options.layerBuffers?.size === chunkSize ? options.layerBuffers : new BufferPool(chunkSize, { shared });
  const hashes = new HashThread(2, threadOptions);
  const [tarHash, blobHash] = hashes.streams as [OrderedHash, OrderedHash];
  const blob = options.store.createFile(blobHash);
  try {
    await writePooledGzip(tarStream(entries, options, undefined, buffers), buffers, blob, {
      level: options.compressionLevel,
      tarHash,
      ...(options.deflatePool ? { pool: options.deflatePool } : {}),
    });
    const info = await blob.commit();
    return { info, diffID: `sha256:${await tarHash.digest()}` };
  } catch (err) {
    await blob.abort();
    throw err;
  } finally {
    await hashes.close();
  }
}

/** Any other compression: a stream pipeline from the tar batches to the blob writer. */
async function writeStreamedLayer(
  entries: Iterable<TarEntry> | AsyncIterable<TarEntry>,
  compression: Compression,
  options: LayerWriteOptions,
): Promise<WrittenLayer> {
  const diffHash = createHash('sha256');
  const blob = options.store.createWriter();
  try {
    const tar = Readable.from(tarStream(entries, options, diffHash), { objectMode: false, highWaterMark: 2 * FRESH_BATCH });
    if (compression === 'none') await pipeline(tar, blob);
    else await pipeline(tar, compressor(compression, options.compressionLevel), blob);
    return { info: await blob.commit(), diffID: `sha256:${diffHash.digest('hex')}` };
  } catch (err) {
    blob.abort();
    throw err;
  }
}

/**
 * Writes a layer. An array is sorted first; an iterable must already be in layer order (compareTarPaths).
 * Hardlinks must name an earlier regular file of the same layer.
 */
export async function writeLayer(
  entries: readonly TarEntry[] | Iterable<TarEntry> | AsyncIterable<TarEntry>,
  options: LayerWriteOptions,
): Promise<KnownLayer> {
  const compression = options.compression ?? 'gzip';
  const sorted = Array.isArray(entries) ? sortEntries(entries as readonly TarEntry[]) : (entries as Iterable<TarEntry> | AsyncIterable<TarEntry>);
  const fileBytes = Array.isArray(entries) ? knownFileBytes(entries as readonly TarEntry[]) : undefined;
  const { info, diffID } = compression === 'gzip' && options.parallel !== false
    ? await writeGzipLayer(sorted, options, fileBytes)
    : await writeStreamedLayer(sorted, compression, options);
  return blobStoreLayer(options.store, {
    digest: info.digest,
    diffID,
    size: info.size,
    mediaType: layerMediaType(compression, options.mediaTypes ?? 'oci'),
  });
}
