/** The blobs that make up an image (config, layers, manifest), each once, in manifest order. */
import { Readable } from 'node:stream';
import { KilnError } from '../errors.ts';
import { garbageCollector } from '../fs/layer/buffer-garbage.ts';
import { DigestTap } from './digest.ts';
import type { Digest, Image } from './types.ts';

export interface ImageBlob {
  digest: Digest;
  size: number;
  open(): Promise<Readable>;
  /** A local file holding exactly this blob (a layer in a blob store or an OCI layout), when known. */
  file?: string;
}

export async function imageBlobs(image: Image): Promise<{ config: ImageBlob; layers: ImageBlob[]; manifest: ImageBlob }> {
  const rawManifest = await image.rawManifest();
  const manifest = await image.manifest();
  const rawConfig = await image.rawConfigFile();
  const layers = await image.layers();
  const config: ImageBlob = {
    digest: manifest.config.digest, size: rawConfig.length, open: async () => Readable.from([rawConfig]),
  };
  const seen = new Set<string>([config.digest]);
  const layerBlobs: ImageBlob[] = [];
  for (let i = 0; i < layers.length; i++) {
    const d = manifest.layers[i];
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    const file = (layers[i] as { file?: unknown }).file;
    layerBlobs.push({ digest: d.digest, size: d.size, open: () => layers[i].compressed(), ...(typeof file === 'string' ? { file } : {}) });
  }
  return {
    config,
    layers: layerBlobs,
    manifest: { digest: await image.digest(), size: rawManifest.length, open: async () => Readable.from([rawManifest]) },
  };
}

/** A blob's stream that fails if its bytes do not match its digest and size. */
export async function* verifiedStream(blob: ImageBlob): AsyncGenerator<Buffer> {
  const tap = new DigestTap();
  const source = await blob.open();
  source.on('error', (err) => tap.destroy(err));
  // A fresh 1 MiB Buffer per read: collected as it goes, or a big layer's dead reads pile up (buffer-garbage.ts).
  const collect = garbageCollector();
  for await (const chunk of source.pipe(tap)) {
    collect((chunk as Buffer).length);
    yield chunk as Buffer;
  }
  if (tap.size !== blob.size || tap.digest !== blob.digest) {
    throw new KilnError('DIGEST_MISMATCH', `blob ${blob.digest} (${blob.size} bytes) read as ${tap.digest} (${tap.size} bytes)`);
  }
}
