import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { DeflatePool } from '../../../src/fs/layer/deflate-pool.ts';
import { deflateRawChunk, type DeflateJob } from '../../../src/fs/layer/deflate-chunk.ts';
import { ParallelGzip, type ParallelGzipOptions } from '../../../src/fs/layer/parallel-gzip.ts';
import { STORED_BLOCK_MAX, chunkIncompressible, storedBlocks } from '../../../src/fs/layer/stored-chunk.ts';

const KiB = 1024;
const CHUNK = 64 * KiB;


/** A chunk as the stream should hold it: stored blocks when incompressible, else deflated (the reference). */
function compressChunk(job: DeflateJob): Uint8Array[] {
  return job.level > 0 && chunkIncompressible(job.chunk) ? storedBlocks(job.chunk, job.last) : [deflateRawChunk(job)];
}

/** Reproducible incompressible bytes (sha256 in counter mode). */
function random(length: number, seed = 'seed'): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0, off = 0; off < length; i++) {
    off += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  }
  return out;
}

function text(length: number): Buffer {
  const words = ['layer', 'snapshot', 'kiln', 'overlay', 'digest', 'manifest', 'registry', 'chunk'];
  let s = '';
  for (let i = 0; s.length < length; i++) s += `${words[i % 8]} ${words[(i * 7) % 8]} ${i}\n`;
  return Buffer.from(s.slice(0, length));
}

async function gzip(input: Buffer, options: ParallelGzipOptions = {}, piece = 100_000): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let off = 0; off < input.length; off += piece) pieces.push(input.subarray(off, off + piece));
  const out: Buffer[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { out.push(chunk); cb(); } });
  await pipeline(Readable.from(pieces), new ParallelGzip({ chunkSize: CHUNK, ...options }), sink);
  return Buffer.concat(out);
}

/** The pigz-style stream as it was before stored chunks: every chunk deflated, primed with the previous 32 KiB. */
function deflateEveryChunk(input: Buffer, level = 6): Buffer {
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level === 9 ? 2 : level === 1 ? 4 : 0, 3]);
  if (input.length <= CHUNK) return Buffer.concat([header, zlib.deflateRawSync(input, { level }), trailer(input)]);
  const parts: Uint8Array[] = [header];
  // An input of whole chunks ends with an empty final chunk.
  for (let off = 0; off <= input.length; off += CHUNK) {
    const last = off + CHUNK > input.length;
    parts.push(zlib.deflateRawSync(input.subarray(off, off + CHUNK), {
      level,
      ...(off > 0 ? { dictionary: input.subarray(off - 32 * KiB, off) } : {}),
      finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    }));
  }
  parts.push(trailer(input));
  return Buffer.concat(parts);
}

function trailer(input: Buffer): Buffer {
  const t = Buffer.alloc(8);
  t.writeUInt32LE(zlib.crc32(input) >>> 0, 0);
  t.writeUInt32LE(input.length % 2 ** 32, 4);
  return t;
}

/** Checks a result with zlib and with gzip(1), an independent inflater. */
function assertRoundTrip(gz: Buffer, input: Buffer): void {
  assert.ok(zlib.gunzipSync(gz).equals(input), 'zlib.gunzipSync gives the input back');
  const r = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr.toString());
  assert.ok(r.stdout.equals(input), 'gzip -d gives the input back');
}

/** Walks a deflate stream made only of stored blocks; returns the payload lengths and the final flags. */
function storedBlockWalk(deflate: Buffer): Array<{ len: number; final: boolean }> {
  const blocks: Array<{ len: number; final: boolean }> = [];
  for (let pos = 0; pos < deflate.length; ) {
    assert.equal(deflate[pos]! & 0b110, 0, `stored block (BTYPE=00) at ${pos}`);
    const len = deflate.readUInt16LE(pos + 1);
    assert.equal(deflate.readUInt16LE(pos + 3), ~len & 0xffff, 'NLEN is the complement of LEN');
    blocks.push({ len, final: (deflate[pos]! & 1) === 1 });
    pos += 5 + len;
    assert.ok(pos <= deflate.length);
  }
  return blocks;
}

test('random data: stored blocks only, one final block at the very end, round trip with zlib and gzip -d', async () => {
  const input = random(5 * CHUNK + 20 * KiB);
  const gz = await gzip(input);
  assertRoundTrip(gz, input);
  const blocks = storedBlockWalk(gz.subarray(10, gz.length - 8));
  assert.deepEqual(blocks.filter((b) => b.final).length, 1);
  assert.equal(blocks.at(-1)!.final, true, 'BFINAL on the last block of the last chunk');
  assert.equal(blocks.reduce((n, b) => n + b.len, 0), input.length);
  assert.ok(blocks.every((b) => b.len <= STORED_BLOCK_MAX && b.len > 0));
  assert.ok(gz.length < input.length + 200, `stored output is input + framing (${gz.length} for ${input.length})`);
  assert.ok(gz.length <= zlib.gzipSync(input).length + 200, 'no bigger than zlib makes it');
});

test('compressible data keeps exactly the bytes of deflating every chunk (text, a tar of source files)', async () => {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const tarred = spawnSync('tar', ['-C', repo, '-cf', '-', 'src/fs', 'docs'], { maxBuffer: 1 << 30 });
  assert.equal(tarred.status, 0, tarred.stderr.toString());
  assert.ok(tarred.stdout.length > 4 * CHUNK, 'the tar spans several chunks');
  for (const input of [text(7 * CHUNK + 999), tarred.stdout, text(4 * CHUNK)]) {
    for (const level of [1, 6, 9]) {
      const gz = await gzip(input, { level });
      assert.ok(gz.equals(deflateEveryChunk(input, level)), `level ${level}, ${input.length} bytes: same bytes as before`);
    }
    assertRoundTrip(await gzip(input), input);
  }
});

test('mixed chunks: stored and deflated chunks alternate; a deflated chunk primed with a stored one inflates right', async () => {
  const r = random(3 * CHUNK, 'mixed');
  const t = text(3 * CHUNK);
  // Chunk 2 repeats the end of stored chunk 1, reachable only through the dictionary; chunk 4 is half random.
  const input = Buffer.concat([
    t.subarray(0, CHUNK), r.subarray(0, CHUNK),
    Buffer.concat([r.subarray(CHUNK - 32 * KiB, CHUNK), t.subarray(CHUNK, CHUNK + 32 * KiB)]),
    r.subarray(CHUNK, 2 * CHUNK), Buffer.concat([t.subarray(0, CHUNK / 2), r.subarray(2 * CHUNK, 2 * CHUNK + CHUNK / 2)]),
    r.subarray(2 * CHUNK, 2 * CHUNK + 40 * KiB),
  ]);
  const gz = await gzip(input);
  assertRoundTrip(gz, input);
  assert.ok(gz.length < input.length, 'text chunks still compress');
  assert.ok(gz.length > deflateEveryChunk(input).length * 0.98, 'about the size of deflating everything');
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => chunkIncompressible(input.subarray(i * CHUNK, (i + 1) * CHUNK))),
    [false, true, false, true, false, true]);
});

test('determinism: the bytes depend on input, level and chunk size, not on input slicing, pools or runs', async () => {
  const input = Buffer.concat([random(3 * CHUNK + 5), text(2 * CHUNK), random(CHUNK, 'b')]);
  const a = await gzip(input);
  const pool = new DeflatePool();
  const b = await gzip(input, { pool, maxInFlight: 1 }, 777);
  const c = await gzip(input, { pool, maxInFlight: 16 }, 10 * CHUNK);
  await pool.close();
  assert.ok(a.equals(b) && a.equals(c));
  // The rule computed here, chunk by chunk, gives the pool's stream.
  const parts: Uint8Array[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])];
  for (let off = 0; off <= input.length; off += CHUNK) {
    const chunk = input.subarray(off, off + CHUNK);
    const last = off + CHUNK > input.length;
    parts.push(...compressChunk({ chunk, dictionary: off > 0 ? input.subarray(off - 32 * KiB, off) : null, level: 6, last }));
  }
  parts.push(trailer(input));
  assert.ok(Buffer.concat(parts).equals(a), 'compressChunk and DeflatePool agree');
  assert.ok(!(await gzip(input, { chunkSize: 2 * CHUNK })).equals(a), 'another chunk size is another stream');
});

test('chunk boundaries: whole chunks, one byte over, a small tail (deflated) and a random tail (stored)', async () => {
  for (const input of [
    random(3 * CHUNK), random(3 * CHUNK + 1), random(2 * CHUNK + 15 * KiB), random(2 * CHUNK + 16 * KiB), random(CHUNK + 1),
  ]) {
    const gz = await gzip(input);
    assertRoundTrip(gz, input);
    assert.ok(gz.length < input.length + 300, `${input.length} bytes: stored, not grown (${gz.length})`);
  }
});

test('exactly one chunk and the empty stream are plain zlib gzip output', async () => {
  for (const input of [random(CHUNK), text(CHUNK), random(100), Buffer.alloc(0)]) {
    const gz = await gzip(input);
    assert.ok(gz.equals(zlib.gzipSync(input)), `${input.length} bytes`);
    assertRoundTrip(gz, input);
  }
});

test('stored blocks: 65535-byte blocks, final flag only when asked, and level 0 is left to zlib', () => {
  for (const size of [1, STORED_BLOCK_MAX, STORED_BLOCK_MAX + 1, 3 * STORED_BLOCK_MAX + 7]) {
    const data = random(size);
    const final = Buffer.concat(storedBlocks(data, true));
    assert.ok(zlib.inflateRawSync(final).equals(data));
    const blocks = storedBlockWalk(final);
    assert.equal(blocks.length, Math.ceil(size / STORED_BLOCK_MAX));
    assert.deepEqual(blocks.map((b) => b.final), blocks.map((_, i) => i === blocks.length - 1));
    assert.ok(storedBlockWalk(Buffer.concat(storedBlocks(data, false))).every((b) => !b.final));
  }
  const chunk = random(CHUNK);
  const job = { chunk, dictionary: null, level: 0, last: true };
  assert.ok(Buffer.concat(compressChunk(job)).equals(deflateRawChunk(job)));
  assert.equal(chunkIncompressible(random(8 * KiB)), false, 'too small to judge: deflated');
});

test('the stored-chunk judgement: stored unless the samples together shrink by a tenth', () => {
  const MiB = 1024 * KiB;
  // A tar of 20,000-byte random files: each 512-byte header and 480 bytes of padding compress, the rest not.
  const tarOfRandomFiles = Buffer.alloc(MiB);
  for (let off = 0, i = 0; off < MiB; off += 20_992, i++) {
    tarOfRandomFiles.write(`file-${i}\0`.padEnd(100, '\0') + '0000644\0', off, 'latin1');
    random(20_000, `f${i}`).copy(tarOfRandomFiles, off + 512);
  }
  assert.equal(chunkIncompressible(tarOfRandomFiles), true, 'random files in a tar: stored');
  assert.equal(chunkIncompressible(random(MiB)), true);
  assert.equal(chunkIncompressible(text(MiB)), false);
  assert.equal(chunkIncompressible(Buffer.concat([text(MiB / 2), random(MiB / 2)])), false, 'half text: deflated');
  // A fifth of every KiB zeros: each sample saves ~20 %.
  const striped = random(MiB);
  for (let off = 0; off < MiB; off += KiB) striped.fill(0, off, off + 200);
  assert.equal(chunkIncompressible(striped), false, 'a fifth compressible: deflated');
  assert.equal(chunkIncompressible(random(16 * KiB)), false, 'too small to judge: deflated as ever');
});

test('the stored-chunk judgement: run-length encoding first, level 1 between a twentieth and a tenth', () => {
  const MiB = 1024 * KiB;
  // Each KiB: a 150-byte random string twice (only string matching sees it) in random bytes.
  const repeats = random(MiB, 'repeats');
  for (let off = 0; off < MiB; off += KiB) repeats.copy(repeats, off + 400, off, off + 150);
  assert.equal(chunkIncompressible(repeats), true, 'repeated strings alone: RLE sees nothing, stored (the blind spot)');
  // The same with 70 zero bytes per KiB: RLE saves ~6 %, level 1 ~20 %: deflated.
  const both = Buffer.from(repeats);
  for (let off = 0; off < MiB; off += KiB) both.fill(0, off + 800, off + 870);
  assert.equal(chunkIncompressible(both), false, 'RLE between a twentieth and a tenth: level 1 decides, deflated');
  // 30 zero bytes per KiB and nothing else: ~3 % either way, stored without level 1.
  const fewZeros = random(MiB, 'few');
  for (let off = 0; off < MiB; off += KiB) fewZeros.fill(0, off + 800, off + 830);
  assert.equal(chunkIncompressible(fewZeros), true, 'below a twentieth: stored');
});
