/** Layer plumbing both stage filesystems share: apply a layer blob to a root, write and append layers. */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { ApplyLayerOptions } from '../../fs/extract/apply-layer.ts';
import { directoryEntries } from '../../fs/layer/directory-entries.ts';
import { writeLayer, type LayerWriteOptions } from '../../fs/layer-writer.ts';
import type { TarEntry } from '../../fs/tar-entry.ts';
import { compressionOfMediaType, decompressStream } from '../../image/compression.ts';
import { DigestTap } from '../../image/digest.ts';
import type { Layer } from '../../image/types.ts';
import { KilnError } from '../../errors.ts';
import { loadLayerExtractor } from '../lazy-modules.ts';
import type { BuildOptions } from '../options.ts';
import type { StageState } from '../state.ts';
import type { WorkDir } from '../work-dir.ts';

export function layerWriteOptions(options: BuildOptions, work: WorkDir): LayerWriteOptions {
  return {
    store: work.blobs,
    compression: options.output.compression,
    ...(options.output.compressionLevel >= 0 ? { compressionLevel: options.output.compressionLevel } : {}),
    reproducible: options.reproducible,
    ...(options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: options.sourceDateEpoch }),
  };
}

export async function applyLayerBlob(rootfs: string, layer: Layer, options: ApplyLayerOptions = {}): Promise<void> {
  // Loaded before the blob stream opens, so nothing can emit 'error' before applyLayer listens.
  const { applyLayer } = await loadLayerExtractor();
  const compression = compressionOfMediaType(await layer.mediaType()) ?? 'none';
  const tar = decompressStream(await layer.compressed(), compression);
  const tap = new DigestTap();
  tar.on('error', (err) => tap.destroy(err));
  await applyLayer(rootfs, tar.pipe(tap), options);
  // containerd's check: the bytes unpacked are the ones the image config names (its diff_ids).
  const diffID = await layer.diffID();
  if (tap.digest !== diffID) {
    throw new KilnError('LAYER_DIFFID_MISMATCH', `layer ${await layer.digest()} unpacks to ${tap.digest}, but the image config names ${diffID}`, {
      hint: 'the image is corrupt or was tampered with: rebuild or re-push it',
    });
  }
}

/** `--image-fs-extract-retry`: how often a failed layer extraction is tried again, and where that is said. */
export interface ExtractRetry {
  retries: number;
  log(message: string): void;
}

/**
 * Runs `extract` (one layer's extraction) again after a failure (a blob stream cut, corrupt bytes), up to
 * `retry.retries` times, as kaniko retries extracting the image; `undone` errors are never retried.
 */
export async function withExtractRetry<T>(layer: Layer, retry: ExtractRetry | undefined, extract: () => Promise<T>, undone: (err: unknown) => boolean = () => false): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await extract();
    } catch (err) {
      if (attempt >= (retry?.retries ?? 0) || undone(err)) throw err;
      retry?.log(`extracting layer ${await layer.digest()} failed (${err instanceof Error ? err.message : String(err)}); retrying (${attempt + 1}/${retry.retries})`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Applies an image's layers in order, each extraction retried as `retry` says (--image-fs-extract-retry). */
export async function applyImageLayers(rootfs: string, layers: readonly Layer[], retry: ExtractRetry | undefined, options: ApplyLayerOptions = {}): Promise<void> {
  for (const layer of layers) await withExtractRetry(layer, retry, () => applyLayerBlob(rootfs, layer, options));
}

export async function appendLayer(state: StageState, layer: Layer): Promise<void> {
  state.layers.push(layer);
  state.config = { ...state.config, rootfs: { type: 'layers', diff_ids: [...state.config.rootfs.diff_ids, await layer.diffID()] } };
}

export async function appendEntriesLayer(state: StageState, entries: readonly TarEntry[], options: LayerWriteOptions): Promise<void> {
  await appendLayer(state, await writeLayer([...entries], options));
}

/** Layer entries of the given rootfs paths (absolute inside the rootfs) with their parent directories. */
export function pathEntries(rootfs: string, changedPaths: readonly string[], keep: (rel: string) => boolean = () => true): TarEntry[] {
  const rel = changedPaths.map((p) => p.replace(/^\/+/, '')).filter((p) => p !== '' && keep(p));
  // A path gone since is left out (lstat: a dangling symlink is a change too), looked up once.
  return rel.length > 0 ? directoryEntries(rootfs, { paths: rel, xattrs: false, skipMissing: true }) : [];
}

/** A whole tree as a layer (COPY --link); the tree is removed afterwards. */
export async function treeLayer(tree: string, options: LayerWriteOptions): Promise<Layer> {
  const layer = await writeLayer(directoryEntries(tree, { xattrs: false }), options);
  fs.rmSync(tree, { recursive: true, force: true });
  return layer;
}
