/** Layer compression: which codec a media type or a blob's first bytes name, and streams to undo it. */
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { MediaType } from './types.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

export function compressionOfMediaType(mediaType: string): Compression | undefined {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar') || mediaType === 'application/vnd.docker.image.rootfs.diff.tar') return 'none';
  return undefined;
}

export function compressionOfMagic(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** The layer media type for a compression in OCI or Docker schema2 terms. */
export function layerMediaType(compression: Compression, format: 'oci' | 'docker'): string {
  if (format === 'docker') {
    if (compression === 'gzip') return MediaType.dockerLayerGzip;
    if (compression === 'none') return 'application/vnd.docker.image.rootfs.diff.tar';
    return MediaType.ociLayerZstd; // Docker schema2 has no zstd type; registries and BuildKit accept the OCI one
  }
  return compression === 'gzip' ? MediaType.ociLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
}

export function decompressor(compression: Compression): NodeJS.ReadWriteStream {
  const chunkSize = 256 * 1024;
  if (compression === 'gzip') return zlib.createGunzip({ chunkSize });
  if (compression === 'zstd') return zlib.createZstdDecompress({ chunkSize });
  return new PassThrough();
}

/**
 * `source` decompressed. Unlike a bare `source.pipe(…)`, a failing source (a cut download, a digest
 * mismatch, an abort) fails the returned stream instead of crashing the process with an unhandled 'error'.
 */
export function decompressStream(source: Readable, compression: Compression): Readable {
  if (compression === 'none') return source;
  const out = decompressor(compression) as unknown as Readable;
  source.on('error', (err) => out.destroy(err));
  out.on('close', () => source.destroy());
  return source.pipe(out as unknown as NodeJS.WritableStream) as unknown as Readable;
}

export function compressor(compression: Compression, level?: number): NodeJS.ReadWriteStream {
  const chunkSize = 256 * 1024;
  if (compression === 'gzip') return zlib.createGzip({ chunkSize, level: level ?? 6 });
  if (compression === 'zstd') {
    return zlib.createZstdCompress({ chunkSize, params: { [zlib.constants.ZSTD_c_compressionLevel]: level ?? 3 } });
  }
  return new PassThrough();
}

/** Decompresses a stream, choosing the codec from its first bytes. */
export function sniffDecompress(source: Readable): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const run = async (): Promise<void> => {
    const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first = await iterator.next();
    const head: Buffer = first.done ? Buffer.alloc(0) : first.value;
    async function* rest(): AsyncGenerator<Buffer> {
      if (head.length) yield head;
      for (;;) {
        const r = await iterator.next();
        if (r.done) return;
        yield r.value;
      }
    }
    await pipeline(rest(), decompressor(compressionOfMagic(head)), out);
  };
  run().catch((err: Error) => out.destroy(err));
  return out;
}
