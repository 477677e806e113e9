/**
 * One chunk of a pigz-style gzip stream: raw deflate primed with the previous 32 KiB, ended with a sync
 * flush (byte-aligned, not final) or, for the last chunk, a final block. The bytes depend only on the chunk,
 * its dictionary and the level, so the result is the same whichever thread computes it.
 */
import * as zlib from 'node:zlib';

export interface DeflateJob {
  chunk: Uint8Array;
  dictionary: Uint8Array | null;
  level: number;
  last: boolean;
}

export const DICTIONARY_SIZE = 32 * 1024;

export function deflateChunkOptions(job: DeflateJob): zlib.ZlibOptions {
  return {
    level: job.level,
    ...(job.dictionary ? { dictionary: job.dictionary } : {}),
    finishFlush: job.last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    chunkSize: 256 * 1024,
  };
}

export function deflateRawChunk(job: DeflateJob): Uint8Array {
  return zlib.deflateRawSync(job.chunk, deflateChunkOptions(job));
}
