/**
 * Incompressible chunks of a pigz-style gzip stream, kept as deflate *stored* blocks instead of deflated.
 * Deflating 1 MiB of random data at level 6 costs ~30 ms of CPU for nothing: zlib itself ends up emitting
 * stored blocks for it. Whether a chunk is worth deflating is judged from eight small samples spread across
 * it, each compressed without a dictionary (run-length encoded first, deflated at level 1 when that does not
 * settle it): unless together they shrink by at least a tenth, the chunk is stored. A tar of random or
 * compressed files (a tenth of it or less is headers and padding) is stored; text, binaries and ordinary tars
 * shrink by far more. The judgement, like the bytes, depends only on
 * the chunk's content, so output stays deterministic.
 *
 * Stored blocks (RFC 1951 §3.2.4, BTYPE=00) start on a byte boundary; every chunk of the stream begins
 * byte-aligned (the previous chunk ended with a sync flush or with stored blocks), so a stored chunk is just
 * its blocks: a header byte (BFINAL in bit 0), LEN and NLEN (little-endian), then up to 65535 bytes. A stored
 * chunk leaves the window holding its own bytes, exactly the 32 KiB dictionary the next chunk is primed with.
 */
import { constants, deflateRawSync, type ZlibOptions } from 'node:zlib';

/** Largest payload of one stored block. */
export const STORED_BLOCK_MAX = 0xffff;
const STORED_HEADER = 5;

const SAMPLE_COUNT = 8;
const SAMPLE_SIZE = 4 * 1024;
/** The samples together must shrink by this share of their size (in percent) for the chunk to be deflated. */
const WORTH_PERCENT = 10;

/** The byte ranges sampled from a chunk of `length` bytes: none when the chunk is too small to judge. */
function sampleRanges(length: number): Array<[number, number]> {
  if (length < SAMPLE_COUNT * SAMPLE_SIZE) return [];
  const step = Math.floor((length - SAMPLE_SIZE) / (SAMPLE_COUNT - 1));
  return Array.from({ length: SAMPLE_COUNT }, (_, i): [number, number] => [i * step, i * step + SAMPLE_SIZE]);
}

/** The options a sample is deflated with (fast, no dictionary, whole sample in one call). */
const SAMPLE_OPTIONS: ZlibOptions = { level: 1, chunkSize: 2 * SAMPLE_SIZE };
/** Runs and Huffman coding only, no string matching: a third of level 1's cost on random bytes. */
const RLE_OPTIONS: ZlibOptions = { ...SAMPLE_OPTIONS, strategy: constants.Z_RLE };
/**
 * Samples that run-length encoding shrinks by less than this (percent) are taken as random without trying
 * string matching: on a Debian root filesystem's tar, level 1 saved at most 1.7 times what RLE saved
 * (RLE 4.4 % → level 1 8.2 %), so below 5 % level 1 stays below the 10 % that would make the chunk worth it.
 */
const RANDOM_PERCENT = 5;

/** Bytes the samples save deflated with `options`, counted until `enough`. */
function savedBy(chunk: Uint8Array, ranges: Array<[number, number]>, options: ZlibOptions, enough: number): number {
  let saved = 0;
  for (const [start, end] of ranges) {
    saved += Math.max(0, SAMPLE_SIZE - deflateRawSync(chunk.subarray(start, end), options).length);
    if (saved >= enough) break;
  }
  return saved;
}

/**
 * Whether `chunk` is to be stored rather than deflated. The samples are first run-length encoded, one after
 * another (in the calling thread: a 4 KiB sample costs ~30 µs), until the bytes they save settle it: a
 * compressible chunk (the common case) costs one or two; random bytes cost the eight RLE samples only. Between
 * RANDOM_PERCENT and WORTH_PERCENT, deflating the samples at level 1 decides. Blind spot, as ever: repeats
 * of strings in otherwise random bytes, which only string matching sees, do not count below RANDOM_PERCENT.
 */
export function chunkIncompressible(chunk: Uint8Array): boolean {
  const ranges = sampleRanges(chunk.length);
  if (ranges.length === 0) return false;
  const total = ranges.length * SAMPLE_SIZE;
  const worth = (total * WORTH_PERCENT) / 100;
  const rle = savedBy(chunk, ranges, RLE_OPTIONS, worth);
  if (rle >= worth) return false;
  if (rle * 100 < total * RANDOM_PERCENT) return true;
  return savedBy(chunk, ranges, SAMPLE_OPTIONS, worth) < worth;
}

/**
 * `chunk` as stored blocks, without copying it: block headers interleaved with views of `chunk`. With
 * `last`, the final block has BFINAL set.
 */
export function storedBlocks(chunk: Uint8Array, last: boolean): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let offset = 0;
  do {
    const len = Math.min(STORED_BLOCK_MAX, chunk.length - offset);
    const final = last && offset + len === chunk.length;
    const header = Buffer.allocUnsafe(STORED_HEADER);
    header[0] = final ? 1 : 0;
    header.writeUInt16LE(len, 1);
    header.writeUInt16LE(~len & 0xffff, 3);
    parts.push(header, chunk.subarray(offset, offset + len));
    offset += len;
  } while (offset < chunk.length);
  return parts;
}
