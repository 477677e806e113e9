/**
 * ADD's archive input: the compression is recognised by its magic bytes as BuildKit's archiveutil does
 * (gzip, bzip2, xz, zstd, else uncompressed) and undone as a stream. gzip and zstd use zlib; bzip2 and xz,
 * which Node lacks, run the system `bzip2 -dc` / `xz -dc` with the archive as stdin.
 */
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { decompressStream } from '../../image/compression.ts';
import { KilnError } from '../../errors.ts';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

const MAGIC: ReadonlyArray<{ compression: Compression; bytes: number[] }> = [
  { compression: 'gzip', bytes: [0x1f, 0x8b, 0x08] },
  { compression: 'bzip2', bytes: [0x42, 0x5a, 0x68] },
  { compression: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { compression: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
];

/** The compression of the file's content, judged by its first bytes. */
export function detectCompression(path: string): Compression {
  const head = Buffer.alloc(6);
  const fd = openSync(path, 'r');
  let length: number;
  try {
    length = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  for (const { compression, bytes } of MAGIC) {
    if (length >= bytes.length && bytes.every((b, i) => head[i] === b)) return compression;
  }
  return 'none';
}

const CHUNK_SIZE = 128 * 1024;

/** The decompressed content of `path` as a stream. Destroying it stops any helper process. */
export function openDecompressed(path: string, compression: Compression): Readable {
  const file = createReadStream(path, { highWaterMark: CHUNK_SIZE });
  if (compression === 'none') return file;
  // A read error fails the returned stream (decompressStream) instead of going unhandled.
  if (compression === 'gzip' || compression === 'zstd') return decompressStream(file, compression);
  file.destroy();
  const tool = compression === 'bzip2' ? 'bzip2' : 'xz';
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const input = createReadStream(path, { highWaterMark: CHUNK_SIZE });
  input.pipe(child.stdin);
  // A reader that stops early closes stdin under the tool: that is not an error.
  child.stdin.on('error', () => {});
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const output = child.stdout;
  child.on('error', (err) => {
    output.destroy(new KilnError('ADD_DECOMPRESS_FAILED', `cannot run ${tool} to decompress ${path}: ${err.message}`));
  });
  child.on('close', (code, signal) => {
    if (code !== 0 && signal === null && !output.destroyed) {
      output.destroy(new KilnError('ADD_DECOMPRESS_FAILED', `${tool} could not decompress ${path}: ${stderr.trim() || `exit ${code}`}`));
    }
  });
  output.on('close', () => {
    input.destroy();
    if (child.exitCode === null) child.kill();
  });
  return output;
}

/** Reads up to `size` bytes from the start of a stream, then destroys it. */
export async function readHead(stream: Readable, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      total += (chunk as Buffer).length;
      if (total >= size) break;
    }
  } catch {
    // A corrupt stream is simply not an archive.
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, size);
}
