import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import tar from 'tar-stream';
import { isKilnError } from '../../../src/errors.ts';
import { writeLayer } from '../../../src/fs/layer-writer.ts';
import { compareTarPaths, opaqueWhiteoutEntry, whiteoutEntry, type TarEntry } from '../../../src/fs/tar-entry.ts';
import { BlobStore } from '../../../src/image/blob-store.ts';

interface Seen {
  name: string;
  type: string | null;
  uid: number;
  gid: number;
  mode: number;
  mtime: number;
  linkname: string | null;
  pax: Record<string, string> | null;
  data: Buffer;
}

async function readTar(stream: Readable): Promise<Seen[]> {
  const extract = tar.extract();
  stream.pipe(extract);
  const out: Seen[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const h = entry.header;
    out.push({
      name: h.name, type: h.type ?? null, uid: h.uid ?? 0, gid: h.gid ?? 0, mode: h.mode ?? 0,
      mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000), linkname: h.linkname ?? null,
      pax: (h.pax as Record<string, string> | undefined) ?? null, data: Buffer.concat(chunks),
    });
  }
  return out;
}

function tempStore(t: { after: (fn: () => void) => void }): BlobStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-layer-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return new BlobStore(dir);
}

const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex');
const longDir = 'd'.repeat(120);
const entries = (mtime: number): TarEntry[] => [
  { path: 'usr/bin/ping', type: 'file', mode: 0o4755, uid: 0, gid: 0, mtime, content: Buffer.from('ELF'), xattrs: { 'security.capability': CAP } },
  { path: 'usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime },
  { path: 'usr/bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime },
  { path: 'usr/bin/ping6', type: 'hardlink', linkname: 'usr/bin/ping', mode: 0o4755, uid: 0, gid: 0, mtime },
  { path: 'usr/bin/sh', type: 'symlink', linkname: '/bin/busybox', mode: 0o777, uid: 0, gid: 0, mtime },
  { path: `${longDir}`, type: 'dir', mode: 0o1777, uid: 0, gid: 0, mtime },
  { path: `${longDir}/${'f'.repeat(90)}`, type: 'file', mode: 0o644, uid: 300000, gid: 5, mtime, content: Buffer.from('split') },
  { path: `${longDir}/${'g'.repeat(200)}`, type: 'file', mode: 0o644, uid: 1, gid: 1, mtime, content: Buffer.from('pax') },
  { path: 'dev/null', type: 'char', mode: 0o666, uid: 0, gid: 0, mtime, devmajor: 1, devminor: 3 },
  { path: 'dev', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime },
  { path: 'run/fifo', type: 'fifo', mode: 0o600, uid: 0, gid: 3000000, mtime },
  { path: 'run', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime },
  whiteoutEntry('etc/removed'),
  opaqueWhiteoutEntry('etc'),
  { path: 'etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime },
  { path: 'etc/-first', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime, content: Buffer.from('') },
];

test('tar headers: sorted, normalised, long names, large ids, xattrs, hardlinks, whiteouts', async (t) => {
  const store = tempStore(t);
  const layer = await writeLayer(entries(1700000000.7), { store, compression: 'none' });
  const seen = await readTar(await layer.uncompressed());
  assert.deepEqual(seen.map((s) => s.name), [
    `${longDir}/`, `${longDir}/${'f'.repeat(90)}`, `${longDir}/${'g'.repeat(200)}`,
    'dev/', 'dev/null', 'etc/', 'etc/.wh..wh..opq', 'etc/-first', 'etc/.wh.removed',
    'run/', 'run/fifo', 'usr/', 'usr/bin/', 'usr/bin/ping', 'usr/bin/ping6', 'usr/bin/sh',
  ]);
  const by = new Map(seen.map((s) => [s.name, s]));
  const ping = by.get('usr/bin/ping')!;
  assert.equal(ping.mode, 0o4755);
  assert.equal(ping.mtime, 1700000000, 'fractions of seconds are dropped');
  assert.ok(ping.pax?.['SCHILY.xattr.security.capability'], 'capability as a SCHILY.xattr pax record');
  assert.equal(by.get('usr/bin/ping6')!.type, 'link');
  assert.equal(by.get('usr/bin/ping6')!.linkname, 'usr/bin/ping');
  assert.equal(by.get('usr/bin/sh')!.linkname, '/bin/busybox');
  assert.equal(by.get(`${longDir}/`)!.mode, 0o1777);
  const split = by.get(`${longDir}/${'f'.repeat(90)}`)!;
  assert.equal(split.uid, 300000, 'uid above 262143 kept (tar-stream would clamp it)');
  assert.equal(by.get('run/fifo')!.pax?.gid, '3000000', 'gid beyond 7 octal digits goes to a pax record');
  assert.equal(split.pax?.path, undefined, 'a name that splits into prefix/name needs no pax path');
  assert.equal(by.get(`${longDir}/${'g'.repeat(200)}`)!.pax?.path, `${longDir}/${'g'.repeat(200)}`);
  assert.equal(by.get(`${longDir}/${'g'.repeat(200)}`)!.data.toString(), 'pax');
  assert.equal(by.get('dev/null')!.type, 'character-device');
  assert.equal(by.get('run/fifo')!.type, 'fifo');
  assert.equal(by.get('etc/.wh.removed')!.data.length, 0);
});

test('binary xattrs survive byte for byte', async (t) => {
  const store = tempStore(t);
  const layer = await writeLayer([entries(0)[0], entries(0)[1], entries(0)[2]], { store, compression: 'none' });
  const tarBytes = fs.readFileSync(store.blobPath(layer.info.digest));
  const record = Buffer.concat([Buffer.from('SCHILY.xattr.security.capability='), CAP, Buffer.from('\n')]);
  assert.ok(tarBytes.includes(record), 'pax record holds the raw capability bytes');
});

test('determinism: same input, same digests; input order does not matter', async (t) => {
  const store = tempStore(t);
  const a = await writeLayer(entries(1000), { store });
  const b = await writeLayer([...entries(1000)].reverse(), { store });
  assert.equal(a.info.digest, b.info.digest);
  assert.equal(a.info.diffID, b.info.diffID);
  const c = await writeLayer(entries(1001), { store });
  assert.notEqual(c.info.diffID, a.info.diffID);
});

test('reproducible mode ignores mtimes; SOURCE_DATE_EPOCH clamps them', async (t) => {
  const store = tempStore(t);
  const a = await writeLayer(entries(1000), { store, reproducible: true });
  const b = await writeLayer(entries(999999), { store, reproducible: true });
  assert.equal(a.info.digest, b.info.digest);
  const clamped = await writeLayer(entries(2000000000), { store, compression: 'none', sourceDateEpoch: 1234 });
  const older = await writeLayer(entries(1000), { store, compression: 'none', sourceDateEpoch: 1234 });
  assert.ok((await readTar(await clamped.uncompressed())).every((s) => s.mtime === 1234 || s.name.includes('.wh.')));
  assert.ok((await readTar(await older.uncompressed())).some((s) => s.mtime === 1000));
});

test('gzip, zstd and none carry the same tar; digests and sizes describe the stored blobs', async (t) => {
  const store = tempStore(t);
  const none = await writeLayer(entries(5), { store, compression: 'none' });
  assert.equal(none.info.digest, none.info.diffID);
  for (const compression of ['gzip', 'zstd'] as const) {
    const layer = await writeLayer(entries(5), { store, compression, compressionLevel: compression === 'gzip' ? 9 : 19 });
    assert.equal(layer.info.diffID, none.info.diffID);
    const blob = fs.readFileSync(store.blobPath(layer.info.digest));
    assert.equal(blob.length, layer.info.size);
    assert.equal(`sha256:${createHash('sha256').update(blob).digest('hex')}`, layer.info.digest);
    const tarBytes = compression === 'gzip' ? zlib.gunzipSync(blob) : zlib.zstdDecompressSync(blob);
    assert.equal(`sha256:${createHash('sha256').update(tarBytes).digest('hex')}`, layer.info.diffID);
    assert.equal(layer.info.mediaType, `application/vnd.oci.image.layer.v1.tar+${compression}`);
  }
});

test('parallel gzip: multi-chunk layers are valid single-member gzip, identical across runs, and small layers equal zlib', async (t) => {
  const store = tempStore(t);
  const big = Buffer.alloc(3 * 1024 * 1024 + 12345);
  for (let i = 0; i + 4 <= big.length; i += 4) big.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i);
  const text = Buffer.from('some text that compresses\n'.repeat(50000));
  const make = (): TarEntry[] => [
    { path: 'big', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: big },
    { path: 'text', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: text },
  ];
  const a = await writeLayer(make(), { store, gzipChunkSize: 256 * 1024 });
  const b = await writeLayer(make(), { store, gzipChunkSize: 256 * 1024 });
  const serial = await writeLayer(make(), { store, parallel: false });
  assert.equal(a.info.digest, b.info.digest);
  assert.equal(a.info.diffID, serial.info.diffID);
  const blob = fs.readFileSync(store.blobPath(a.info.digest));
  const tarBytes = zlib.gunzipSync(blob);
  // (The data of incompressible chunks is stored as it is, so the gzip magic may appear inside: inflate instead.)
  assert.ok(zlib.inflateRawSync(blob.subarray(10, blob.length - 8)).equals(tarBytes), 'one gzip member, not concatenated members');
  assert.equal(`sha256:${createHash('sha256').update(tarBytes).digest('hex')}`, a.info.diffID);

  const small: TarEntry[] = [{ path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: Buffer.from('x') }];
  const p = await writeLayer(small, { store });
  const s = await writeLayer(small, { store, parallel: false });
  assert.equal(p.info.digest, s.info.digest, 'a one-chunk layer is plain zlib output');
});

test('files are streamed from disk; a file that shrinks is an error', async (t) => {
  const store = tempStore(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-src-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'data');
  fs.writeFileSync(file, Buffer.alloc(3 * 1024 * 1024, 7));
  const layer = await writeLayer([{ path: 'data', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 3 * 1024 * 1024, content: { path: file } }], { store, compression: 'none' });
  const [seen] = await readTar(await layer.uncompressed());
  assert.equal(seen.data.length, 3 * 1024 * 1024);
  assert.ok(seen.data.every((b) => b === 7));
  await assert.rejects(
    writeLayer([{ path: 'data', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 4 * 1024 * 1024, content: { path: file } }], { store }),
    (e) => isKilnError(e) && e.code === 'LAYER_FILE_CHANGED',
  );
  assert.deepEqual(fs.readdirSync(path.join(store.dir, 'tmp')), [], 'failed writes leave no temp blob');
});

test('unsorted iterables and dangling hardlinks are rejected', async (t) => {
  const store = tempStore(t);
  const e = (p: string): TarEntry => ({ path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  await assert.rejects(writeLayer((function* () { yield e('b'); yield e('a'); })(), { store }), (err) => isKilnError(err) && err.code === 'LAYER_ENTRIES_UNSORTED');
  await assert.rejects(
    writeLayer([{ path: 'l', type: 'hardlink', linkname: 'missing', mode: 0o644, uid: 0, gid: 0, mtime: 0 }], { store }),
    (err) => isKilnError(err) && err.code === 'LAYER_HARDLINK_TARGET',
  );
  await assert.rejects(writeLayer([e('../x')], { store }), (err) => isKilnError(err) && err.code === 'INVALID_LAYER_PATH');
});

test('layer order is a depth-first walk with opaque markers first', () => {
  const paths = ['a-b', 'a/b', 'a', 'a/.wh..wh..opq', 'a/!x', 'B'];
  assert.deepEqual([...paths].sort(compareTarPaths), ['B', 'a', 'a/.wh..wh..opq', 'a/!x', 'a/b', 'a-b']);
});

test('compareTarPaths orders like a component-by-component bytewise comparison, on random paths', () => {
  // The definition: components compared in turn, the opaque marker first, names bytewise (UTF-8).
  const reference = (a: string, b: string): number => {
    const [pa, pb] = [a.split('/'), b.split('/')];
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      if (pa[i] === pb[i]) continue;
      if (pa[i] === '.wh..wh..opq') return -1;
      if (pb[i] === '.wh..wh..opq') return 1;
      return Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
    }
    return pa.length - pb.length;
  };
  const pieces = ['a', 'b', 'ab', 'a-b', 'a.b', 'B', '!', '.wh..wh..opq', '.wh.a', 'é', 'z\u00ff', '\u{1F600}', '\uE000', '\uFFFD', '0'];
  let seed = 7;
  const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  const path = (): string => Array.from({ length: 1 + random(4) }, () => Array.from({ length: 1 + random(2) }, () => pieces[random(pieces.length)]).join('')).join('/');
  for (let k = 0; k < 20_000; k++) {
    const [a, b] = [path(), path()];
    assert.equal(Math.sign(compareTarPaths(a, b)), Math.sign(reference(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
});
