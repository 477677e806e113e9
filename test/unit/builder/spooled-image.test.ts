/** SpooledLayer: one download per blob, shared by every reader; a failed download is not kept. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BlobStore } from '../../../src/image/blob-store.ts';
import type { Layer } from '../../../src/image/types.ts';
import { SpooledLayer } from '../../../src/builder/spooled-image.ts';

const blob = randomBytes(3 << 20);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

/** A layer whose stream is the blob in 64 KiB pieces, or fails after `failAfter` bytes on the first open. */
function sourceLayer(failFirstAfter?: number): Layer & { opens: number } {
  const layer = {
    opens: 0,
    digest: async () => digest,
    diffID: async () => digest,
    size: async () => blob.length,
    mediaType: async () => 'application/vnd.oci.image.layer.v1.tar',
    async compressed() {
      layer.opens++;
      const fail = layer.opens === 1 ? failFirstAfter : undefined;
      return Readable.from((async function* () {
        for (let at = 0; at < blob.length; at += 65536) {
          if (fail !== undefined && at >= fail) throw new Error('connection reset');
          await new Promise((r) => setImmediate(r));
          yield blob.subarray(at, at + 65536);
        }
      })());
    },
    uncompressed: async () => { throw new Error('not used'); },
  };
  return layer;
}

function blobs(t: { after(fn: () => void): void }): BlobStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-spool-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return new BlobStore(dir);
}

test('readers at once and after: one download, the same bytes for all, then a file to link', async (t) => {
  const source = sourceLayer();
  const layer = new SpooledLayer(source, blobs(t));
  // The second reader asks while the first is still reading: it waits for the download, not a new one.
  const first = layer.compressed().then(buffer);
  const second = layer.compressed().then(buffer);
  const [ba, bb] = await Promise.all([first, second]);
  assert.ok(ba.equals(blob) && bb.equals(blob));
  assert.ok((await buffer(await layer.compressed())).equals(blob));
  assert.equal(source.opens, 1);
  assert.ok(layer.file !== undefined && fs.readFileSync(layer.file).equals(blob));
});

test('a cut download fails its reader, is not kept, and the next reader downloads again', async (t) => {
  const source = sourceLayer(1 << 20);
  const store = blobs(t);
  const layer = new SpooledLayer(source, store);
  await assert.rejects(buffer(await layer.compressed()), /connection reset/);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(store.has(digest), false);
  assert.equal(layer.file, undefined);
  assert.ok((await buffer(await layer.compressed())).equals(blob));
  // A third reader waits for the second download's copy and reads it.
  assert.ok((await buffer(await layer.compressed())).equals(blob));
  assert.equal(source.opens, 2);
  assert.equal(store.has(digest), true);
});

test('prefetch downloads with no reader; a reader that stops early does not stop the copy', async (t) => {
  const source = sourceLayer();
  const layer = new SpooledLayer(source, blobs(t));
  layer.prefetch();
  const early = await layer.compressed();
  early.destroy();
  assert.ok((await buffer(await layer.compressed())).equals(blob));
  assert.equal(source.opens, 1);
});
