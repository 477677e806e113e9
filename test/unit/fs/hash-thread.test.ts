/**
 * The layer writer's hash thread (src/fs/layer/hash-thread.ts): digests equal createHash over the same bytes
 * whichever thread hashes them, shared memory is not given back (`hashed`) before the worker has read it,
 * small inputs stay in this thread, and too much waiting to be hashed holds the caller back.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { writeLayer } from '../../../src/fs/layer-writer.ts';
import { BufferPool } from '../../../src/fs/layer/buffer-pool.ts';
import { HashThread } from '../../../src/fs/layer/hash-thread.ts';
import type { TarEntry } from '../../../src/fs/tar-entry.ts';
import { BlobStore } from '../../../src/image/blob-store.ts';
import type { OrderedHash } from '../../../src/image/ordered-hash.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

function sha256(parts: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

function shared(bytes: Uint8Array): Buffer {
  const b = Buffer.from(new SharedArrayBuffer(bytes.length));
  b.set(bytes);
  return b;
}

test('two streams on the worker: digests equal createHash, shared and copied parts, views and empty parts', async (t) => {
  const hashes = new HashThread(2, { startAfter: 0 });
  t.after(() => hashes.close());
  const [a, b] = hashes.streams as [OrderedHash, OrderedHash];
  const seenA: Uint8Array[] = [];
  const seenB: Uint8Array[] = [];
  let hashed = 0;
  let given = 0;
  // Held until the worker is online: once this one is hashed, the worker has taken over.
  const first = shared(randomBytes(KiB));
  seenA.push(Buffer.from(first));
  await new Promise<void>((resolve) => void a.update([first], resolve));
  assert.equal(hashes.offThread, true);
  for (let i = 0; i < 40; i++) {
    const big = shared(randomBytes(64 * KiB + i));
    const partsA = [big.subarray(3, 1000 + i * 100), Buffer.alloc(0), randomBytes(i)];
    // A view into Node's pooled small buffers: only its own bytes may be hashed, not the whole slab.
    const partsB = [Buffer.from(`header ${i}`), big, randomBytes(5 * KiB).subarray(7, 300)];
    seenA.push(...partsA.map((p) => Buffer.from(p)));
    seenB.push(...partsB.map((p) => Buffer.from(p)));
    given += 2;
    await a.update(partsA, () => hashed++);
    await b.update(partsB, () => hashed++);
  }
  const [da, db] = await Promise.all([a.digest(), b.digest()]);
  assert.equal(da, sha256(seenA));
  assert.equal(db, sha256(seenB));
  assert.equal(hashed, given, 'every update was reported hashed');
  assert.equal(hashes.offThread, true, 'the worker hashed them');
});

test('shared memory is not given back before the worker hashed it: one buffer rewritten after each `hashed`', async (t) => {
  const hashes = new HashThread(1, { startAfter: 0 });
  t.after(() => hashes.close());
  const [stream] = hashes.streams as [OrderedHash];
  const buf = Buffer.from(new SharedArrayBuffer(MiB));
  const seen: Buffer[] = [];
  for (let i = 0; i < 64; i++) {
    randomFillSync(buf);
    seen.push(Buffer.from(buf));
    // Reused as soon as `hashed` runs: had the worker not read it yet, it would hash the next round's bytes.
    await new Promise<void>((resolve) => {
      void stream.update([buf], resolve);
    });
  }
  assert.equal(await stream.digest(), sha256(seen));
  assert.equal(hashes.offThread, true);
});

test('a small input is hashed in this thread: no worker, callbacks run by the time the digest is there', async () => {
  const hashes = new HashThread(2, { startAfter: 4 * MiB });
  const [a, b] = hashes.streams as [OrderedHash, OrderedHash];
  const data = shared(randomBytes(100 * KiB));
  let hashed = 0;
  assert.equal(a.update([data.subarray(0, 50 * KiB)], () => hashed++), undefined);
  assert.equal(b.update([data], () => hashed++), undefined);
  a.update([data.subarray(50 * KiB)], () => hashed++);
  assert.equal(hashed, 0, 'held until the worker would start or the digest is asked');
  assert.equal(await a.digest(), sha256([data]));
  assert.equal(hashed, 3);
  b.update([data], () => hashed++);
  assert.equal(hashed, 4, 'hashed at once from then on');
  assert.equal(await b.digest(), sha256([data, data]));
  assert.equal(hashes.offThread, false);
  await hashes.close();
});

test('more than maxPending waiting to be hashed: update() asks the caller to wait, and the wait ends', async (t) => {
  const hashes = new HashThread(1, { startAfter: 0, maxPending: 2 * MiB });
  t.after(() => hashes.close());
  const [stream] = hashes.streams as [OrderedHash];
  const chunk = shared(randomBytes(MiB));
  let waits = 0;
  const seen: Buffer[] = [];
  for (let i = 0; i < 16; i++) {
    seen.push(chunk);
    const room = stream.update([chunk], () => {});
    if (room) {
      waits++;
      await room;
    }
  }
  assert.ok(waits > 0, 'the caller was held back at least once');
  assert.equal(await stream.digest(), sha256(seen));
});

test('blob file with a hash that answers late: `written` waits for the hash as well as the disk', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'kiln-hash-thread-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = new BlobStore(dir);
  const late: Array<() => void> = [];
  const inner = createHash('sha256');
  const hash: OrderedHash = {
    update(parts, hashed) {
      for (const p of parts) inner.update(p);
      late.push(hashed);
      return undefined;
    },
    digest: async () => inner.digest('hex'),
  };
  const blob = store.createFile(hash);
  const parts = [randomBytes(1000), randomBytes(2000)];
  const written: number[] = [];
  await blob.write([parts[0]!], () => written.push(0));
  await blob.write([parts[1]!], () => written.push(1));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(written, [], 'on file but not hashed yet');
  late.shift()!();
  assert.deepEqual(written, [0]);
  late.shift()!();
  const info = await blob.commit();
  assert.deepEqual(written, [0, 1]);
  assert.equal(info.digest, `sha256:${sha256(parts)}`);
  assert.ok(fs.readFileSync(store.blobPath(info.digest)).equals(Buffer.concat(parts)));
});

test('offThread false (one CPU): everything is hashed in this thread at once, whatever the size', async () => {
  const hashes = new HashThread(1, { offThread: false, startAfter: 0, maxPending: 0 });
  const [stream] = hashes.streams as [OrderedHash];
  const data = shared(randomBytes(3 * MiB));
  let hashed = 0;
  for (let i = 0; i < 4; i++) assert.equal(stream.update([data], () => hashed++), undefined, 'never asked to wait');
  assert.equal(hashed, 4);
  assert.equal(await stream.digest(), sha256([data, data, data, data]));
  assert.equal(hashes.offThread, false);
  await hashes.close();
});

test('writeLayer hashing on the worker (a poisoned shared pool): digest and diffID of the bytes on file', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'kiln-hash-thread-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = new BlobStore(dir);
  const text = Buffer.from('a line of text that compresses well\n'.repeat(60_000));
  const entries: TarEntry[] = [
    { path: 'random', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: randomBytes(5 * MiB + 77) },
    { path: 'text', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: text },
  ];
  for (const hashThread of [{ startAfter: 0 }, { offThread: false }]) {
    const pool = new BufferPool(256 * KiB, { poison: true, shared: true });
    const layer = await writeLayer(entries, { store, layerBuffers: pool, gzipChunkSize: 256 * KiB, hashThread });
    const blob = fs.readFileSync(store.blobPath(layer.info.digest));
    assert.equal(layer.info.digest, `sha256:${sha256([blob])}`, `${JSON.stringify(hashThread)}: digest`);
    assert.equal(layer.info.diffID, `sha256:${sha256([zlib.gunzipSync(blob)])}`, `${JSON.stringify(hashThread)}: diffID`);
  }
});
