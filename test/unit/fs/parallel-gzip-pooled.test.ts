/**
 * The layer writer's pooled gzip path (reused buffers, no streams) against the ParallelGzip stream: the same
 * bytes for every size and chunk size, buffers reused, and none released while its bytes are still needed
 * (a poisoned pool overwrites every released buffer, so an early release shows up as wrong output).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { writeLayer } from '../../../src/fs/layer-writer.ts';
import { BufferPool } from '../../../src/fs/layer/buffer-pool.ts';
import { ParallelGzip } from '../../../src/fs/layer/parallel-gzip.ts';
import { writePooledGzip } from '../../../src/fs/layer/pooled-gzip-layer.ts';
import type { TarEntry } from '../../../src/fs/tar-entry.ts';
import { BlobStore } from '../../../src/image/blob-store.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

function tempStore(t: { after: (fn: () => void) => void }): BlobStore {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'kiln-pooled-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return new BlobStore(dir);
}

function text(length: number, seed = 0): Buffer {
  let s = '';
  for (let i = seed; s.length < length; i++) s += `line ${i} of a layer that compresses ${i % 17}\n`;
  return Buffer.from(s.slice(0, length));
}

/** Random and compressible stretches, so stored and deflated chunks alternate at any chunk size. */
function mixed(length: number): Buffer {
  const parts: Buffer[] = [];
  for (let n = 0, i = 0; n < length; i++) {
    const size = Math.min(length - n, 40 * KiB + i * 7 * KiB);
    parts.push(i % 2 === 0 ? randomBytes(size) : text(size, i));
    n += size;
  }
  return Buffer.concat(parts);
}

async function streamGzip(input: Buffer, chunkSize: number): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { out.push(chunk); cb(); } });
  await pipeline(Readable.from([input]), new ParallelGzip({ chunkSize }), sink);
  return Buffer.concat(out);
}

/** `input` cut into pool buffers as the tar writer makes them: whole chunks, then the rest (if any). */
async function* pooledBatches(input: Buffer, pool: BufferPool): AsyncGenerator<Buffer> {
  for (let off = 0; off < input.length; off += pool.size) {
    const buf = pool.acquire();
    const n = input.copy(buf, 0, off, off + pool.size);
    yield buf.subarray(0, n);
  }
}

async function pooledGzip(store: BlobStore, input: Buffer, pool: BufferPool, maxInFlight?: number): Promise<Buffer> {
  const blob = store.createFile();
  await writePooledGzip(pooledBatches(input, pool), pool, blob, maxInFlight === undefined ? {} : { maxInFlight });
  const info = await blob.commit();
  const bytes = fs.readFileSync(store.blobPath(info.digest));
  assert.equal(info.digest, `sha256:${createHash('sha256').update(bytes).digest('hex')}`, 'the digest is of the bytes on file');
  assert.equal(info.size, bytes.length);
  return bytes;
}

test('pooled path = stream path, byte for byte: sizes around the chunk size, several chunk sizes, poisoned pools', async (t) => {
  const store = tempStore(t);
  for (const chunkSize of [64 * KiB, 16 * KiB, 100 * KiB + 3, 256 * KiB]) {
    const inputs = [
      Buffer.alloc(0), text(100), randomBytes(chunkSize - 1), randomBytes(chunkSize), text(chunkSize),
      randomBytes(chunkSize + 1), mixed(3 * chunkSize), mixed(5 * chunkSize + 999), text(4 * chunkSize), randomBytes(6 * chunkSize + 20 * KiB),
    ];
    for (const input of inputs) {
      const expected = await streamGzip(input, chunkSize);
      assert.ok(zlib.gunzipSync(expected).equals(input));
      for (const maxInFlight of [1, 2, undefined]) {
        const pool = new BufferPool(chunkSize, { poison: true });
        const got = await pooledGzip(store, input, pool, maxInFlight);
        assert.ok(got.equals(expected), `chunk ${chunkSize}, ${input.length} bytes, in flight ${maxInFlight ?? 'default'}: same bytes`);
      }
    }
  }
});

test('a 64 MiB layer cycles through a few buffers; a poisoned shared pool still gives the stream bytes and digests', async (t) => {
  const store = tempStore(t);
  const big = mixed(40 * MiB);
  const rnd = randomBytes(24 * MiB);
  const entries = (): TarEntry[] => [
    { path: 'big', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: big },
    { path: 'dir', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 },
    { path: 'dir/random', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: rnd },
  ];
  // Shared memory, as the writer's own pool: the hash thread reads these buffers in place, so a buffer released
  // before it is hashed would be poisoned under the hash (a wrong diffID or digest below).
  const pool = new BufferPool(MiB, { poison: true, shared: true });
  const layer = await writeLayer(entries(), { store, layerBuffers: pool });
  // Deflate jobs in flight, the dictionary's chunk, the blob file's queue, the batch being filled, and up to
  // 8 MiB (tar and blob bytes) waiting to be hashed (hash-thread.ts).
  const bound = 2 * Math.max(2, availableParallelism()) + 6 + 8;
  assert.ok(pool.allocated >= 2 && pool.allocated <= bound, `${pool.allocated} buffers allocated for 64 MiB (at most ${bound})`);

  const tarLayer = await writeLayer(entries(), { store, compression: 'none' });
  const tarBytes = fs.readFileSync(store.blobPath(tarLayer.info.digest));
  assert.equal(layer.info.diffID, tarLayer.info.diffID);
  const expected = await streamGzip(tarBytes, MiB);
  const blob = fs.readFileSync(store.blobPath(layer.info.digest));
  assert.ok(blob.equals(expected), 'the pooled layer is the stream-compressed tar');
  assert.equal(layer.info.digest, `sha256:${createHash('sha256').update(expected).digest('hex')}`);
  assert.equal(layer.info.size, expected.length);

  // The same pool again: a second layer reuses its buffers (a new one only if more happen to be in use at once).
  const before = pool.allocated;
  const again = await writeLayer(entries(), { store, layerBuffers: pool });
  assert.equal(again.info.digest, layer.info.digest);
  assert.ok(pool.allocated <= before + 2, `a second layer reuses the pool (${before} then ${pool.allocated} buffers)`);
});

test('a layer of whole chunks and a one-chunk layer: the pooled writer equals zlib and the stream', async (t) => {
  const store = tempStore(t);
  // Header (512) + content + trailer (1024) = exactly 2 chunks of 64 KiB; and a layer of exactly one chunk.
  for (const [size, chunkSize] of [[2 * 64 * KiB - 1536, 64 * KiB], [64 * KiB - 1536, 64 * KiB]] as const) {
    const content = randomBytes(size);
    const entries: TarEntry[] = [{ path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content }];
    const pool = new BufferPool(chunkSize, { poison: true });
    const layer = await writeLayer(entries, { store, layerBuffers: pool, gzipChunkSize: chunkSize });
    const tarLayer = await writeLayer(entries, { store, compression: 'none' });
    const tarBytes = fs.readFileSync(store.blobPath(tarLayer.info.digest));
    assert.equal(tarBytes.length % chunkSize, 0, 'the tar ends on a chunk boundary');
    const blob = fs.readFileSync(store.blobPath(layer.info.digest));
    assert.ok(blob.equals(await streamGzip(tarBytes, chunkSize)), `${tarBytes.length} bytes`);
    if (tarBytes.length === chunkSize) assert.ok(blob.equals(zlib.gzipSync(tarBytes)), 'one chunk is plain zlib output');
  }
});

test('buffer pool: reuses released buffers, refuses foreign or doubly released ones', () => {
  const pool = new BufferPool(4 * KiB);
  const a = pool.acquire();
  const b = pool.acquire();
  assert.equal(pool.allocated, 2);
  pool.release(a.subarray(0, 10));
  const c = pool.acquire();
  assert.equal(c.buffer, a.buffer, 'a released buffer comes back');
  assert.equal(c.length, 4 * KiB);
  assert.equal(pool.allocated, 2);
  pool.release(b);
  assert.throws(() => pool.release(b), /twice/);
  assert.throws(() => pool.release(Buffer.allocUnsafeSlow(KiB)), /1024 bytes/);
});

test('blob file: parts land in order, `written` runs once they are on file, abort leaves nothing', async (t) => {
  const store = tempStore(t);
  const blob = store.createFile();
  const parts = Array.from({ length: 20 }, (_, i) => randomBytes(1000 + i * 5000));
  const written: number[] = [];
  for (const [i, p] of parts.entries()) await blob.write([p.subarray(0, 100), p.subarray(100)], () => written.push(i));
  const info = await blob.commit();
  assert.deepEqual(written, parts.map((_, i) => i));
  assert.ok(fs.readFileSync(store.blobPath(info.digest)).equals(Buffer.concat(parts)));

  const dropped = store.createFile();
  await dropped.write([randomBytes(100)]);
  await dropped.abort();
  assert.equal(fs.existsSync(dropped.tempPath), false);
  assert.deepEqual(fs.readdirSync(path.join(store.dir, 'tmp')), []);
});

test('a layer that fails half way (a file shrinks) leaves no temp file and no blob', async (t) => {
  const store = tempStore(t);
  const file = path.join(store.dir, 'shrinks');
  fs.writeFileSync(file, randomBytes(3 * MiB));
  const entries: TarEntry[] = [
    { path: 'a', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: randomBytes(5 * MiB) },
    { path: 'b', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 4 * MiB, content: { path: file } },
  ];
  await assert.rejects(writeLayer(entries, { store, layerBuffers: new BufferPool(MiB, { poison: true }) }), { code: 'LAYER_FILE_CHANGED' });
  assert.deepEqual(fs.readdirSync(path.join(store.dir, 'tmp')), []);
  assert.deepEqual(fs.readdirSync(path.join(store.dir, 'sha256')), []);
});
