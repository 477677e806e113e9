/**
 * Layer writing throughput against `tar -cf - DIR | pigz` measured in the same run, and peak RSS while
 * writing a 1 GiB layer (in a child process, so the number is the writer's alone).
 *
 * A second table does the same for a layer of random bytes (incompressible: stored, not deflated).
 *
 *   ./node_modules/.bin/node bench/layer-write.ts [--size-mb 200] [--big-mb 1024] [--random-mb 256]
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { layerFromDirectory } from '../src/fs/layer/directory-entries.ts';
import { BlobStore } from '../src/image/blob-store.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Deterministic pseudo-random generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const WORDS = 'the of and to in is for on that with as by this are from at be or an it was which not have can use file data build image layer root user system config value error type name path'.split(' ');

/** Content that compresses like a typical rootfs mix: text-like (≈4:1) and incompressible (binary) parts. */
function content(size: number, next: () => number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  while (pos < size) {
    if (next() % 1500 === 0) {
      const n = Math.min(size - pos, 4096);
      for (let i = 0; i < n; i += 4) buf.writeUInt32LE(next(), Math.min(pos + i, size - 4));
      pos += n;
    } else {
      const w = WORDS[next() % WORDS.length];
      const s = next() % 11 === 0 ? `${w}\n` : `${w} `;
      pos += buf.write(s, pos, 'latin1');
    }
  }
  return buf;
}

function generateTree(dir: string, totalBytes: number): { files: number; bytes: number } {
  const next = rng(42);
  let bytes = 0;
  let files = 0;
  while (bytes < totalBytes) {
    const sub = path.join(dir, `d${files % 37}`, `e${files % 11}`);
    fs.mkdirSync(sub, { recursive: true });
    // Mostly small files, a few large ones, like a distribution rootfs.
    const r = next() % 100;
    const size = r < 70 ? 200 + (next() % 8000) : r < 97 ? 8192 + (next() % 200000) : 1_000_000 + (next() % 8_000_000);
    fs.writeFileSync(path.join(sub, `f${files}`), content(size, next));
    bytes += size;
    files++;
  }
  return { files, bytes };
}

function seconds(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function secondsAsync(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** Child mode: write one layer from `dir`, print peak RSS. */
async function child(dir: string, storeDir: string): Promise<void> {
  const layer = await layerFromDirectory(dir, { store: new BlobStore(storeDir), xattrs: false });
  process.stdout.write(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, size: layer.info.size }));
}

/** One file of random bytes (like the bigfile benchmark): Kiln's gzip stores it, pigz and gzip deflate it. */
async function randomTable(work: string, randomMb: number): Promise<void> {
  const dir = path.join(work, 'random');
  fs.mkdirSync(dir);
  const fd = fs.openSync(path.join(dir, 'big'), 'w');
  const block = Buffer.allocUnsafe(1 << 20);
  for (let i = 0; i < randomMb; i++) fs.writeSync(fd, randomFillSync(block));
  fs.closeSync(fd);
  const mb = (randomMb * 1048576) / 1e6;
  const rows: Array<[string, number, number]> = [];
  const sh = (label: string, cmd: string, out: string): void => {
    rows.push([label, seconds(() => spawnSync('sh', ['-c', `tar -cf - -C '${dir}' . | ${cmd} > '${out}'`])), fs.statSync(out).size]);
  };
  sh('tar | pigz -6 (reference)', 'pigz -6', `${work}/random.tar.gz`);
  sh('tar | gzip -6', 'gzip -6', `${work}/random1.tar.gz`);
  const store = new BlobStore(path.join(work, 'random-store'));
  for (const [label, opts] of [
    ['kiln gzip 6, parallel chunks (stored)', { compression: 'gzip' as const }],
    ['kiln gzip 6, single thread', { compression: 'gzip' as const, parallel: false }],
    ['kiln uncompressed', { compression: 'none' as const }],
  ] as const) {
    let size = 0;
    const s = await secondsAsync(async () => {
      size = (await layerFromDirectory(dir, { store, xattrs: false, ...opts })).info.size;
    });
    rows.push([label, s, size]);
  }
  console.log(`\nrandom data: one ${randomMb} MiB file`);
  console.log('\n| writer | seconds | MB/s (tar bytes) | output MB | vs tar|pigz |');
  console.log('|---|---|---|---|---|');
  for (const [label, s, size] of rows) {
    console.log(`| ${label} | ${s.toFixed(2)} | ${(mb / s).toFixed(1)} | ${(size / 1e6).toFixed(1)} | ${(rows[0]![1] / s).toFixed(2)}× |`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-layer-'));
  try {
    const sizeMb = arg('--size-mb', 200);
    const tree = path.join(work, 'tree');
    const gen = generateTree(tree, sizeMb * 1024 * 1024);
    const tarBytes = Number(spawnSync('sh', ['-c', `tar -cf - -C '${tree}' . | wc -c`], { encoding: 'utf8' }).stdout.trim());
    const mb = tarBytes / 1e6;
    console.log(`tree: ${gen.files} files, ${(gen.bytes / 1e6).toFixed(1)} MB of content, tar ${mb.toFixed(1)} MB, ${os.availableParallelism()} CPUs`);
    seconds(() => spawnSync('sh', ['-c', `tar -cf - -C '${tree}' . > /dev/null`])); // warm the page cache

    const rows: Array<[string, number, number]> = [];
    const pigz = seconds(() => spawnSync('sh', ['-c', `tar -cf - -C '${tree}' . | pigz -6 > '${work}/ref.tar.gz'`]));
    rows.push(['tar | pigz -6 (reference)', pigz, fs.statSync(`${work}/ref.tar.gz`).size]);
    const gzipSingle = seconds(() => spawnSync('sh', ['-c', `tar -cf - -C '${tree}' . | gzip -6 > '${work}/ref1.tar.gz'`]));
    rows.push(['tar | gzip -6', gzipSingle, fs.statSync(`${work}/ref1.tar.gz`).size]);
    const zstdRef = seconds(() => spawnSync('sh', ['-c', `tar -cf - -C '${tree}' . | zstd -3 -q -T1 > '${work}/ref.tar.zst'`]));
    rows.push(['tar | zstd -3 -T1', zstdRef, fs.statSync(`${work}/ref.tar.zst`).size]);

    const store = new BlobStore(path.join(work, 'store'));
    for (const [label, opts] of [
      ['kiln gzip 6, parallel chunks', { compression: 'gzip' as const }],
      ['kiln gzip 6, single thread', { compression: 'gzip' as const, parallel: false }],
      ['kiln gzip 6, 256 KiB chunks', { compression: 'gzip' as const, gzipChunkSize: 256 * 1024 }],
      ['kiln zstd 3', { compression: 'zstd' as const }],
      ['kiln uncompressed', { compression: 'none' as const }],
    ] as const) {
      let size = 0;
      const s = await secondsAsync(async () => {
        const layer = await layerFromDirectory(tree, { store, xattrs: false, ...opts });
        size = layer.info.size;
      });
      rows.push([label, s, size]);
    }
    console.log('\n| writer | seconds | MB/s (tar bytes) | output MB | vs tar|pigz |');
    console.log('|---|---|---|---|---|');
    for (const [label, s, size] of rows) {
      console.log(`| ${label} | ${s.toFixed(2)} | ${(mb / s).toFixed(1)} | ${(size / 1e6).toFixed(1)} | ${(pigz / s).toFixed(2)}× |`);
    }

    await randomTable(work, arg('--random-mb', 256));

    // Peak RSS: 200 MB tree vs a 1 GiB layer; a flat writer shows about the same number.
    const bigMb = arg('--big-mb', 1024);
    const big = path.join(work, 'big');
    fs.mkdirSync(big);
    const pattern = content(16 * 1024 * 1024, rng(7));
    const fd = fs.openSync(path.join(big, 'blob'), 'w');
    for (let i = 0; i < bigMb / 16; i++) fs.writeSync(fd, pattern);
    fs.closeSync(fd);
    const self = fileURLToPath(import.meta.url);
    const rss = (dir: string): { maxRssKiB: number; size: number; s: number } => {
      const storeDir = path.join(work, `rss-${path.basename(dir)}`);
      let out = '';
      const s = seconds(() => {
        const r = spawnSync(process.execPath, [self, '--child', dir, storeDir], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(r.stderr);
        out = r.stdout;
      });
      fs.rmSync(storeDir, { recursive: true, force: true });
      return { ...JSON.parse(out), s };
    };
    const small = rss(tree);
    const large = rss(big);
    console.log(`\npeak RSS writing the ${mb.toFixed(0)} MB tree: ${(small.maxRssKiB / 1024).toFixed(0)} MiB`);
    console.log(`peak RSS writing a ${bigMb} MiB layer: ${(large.maxRssKiB / 1024).toFixed(0)} MiB (${((bigMb * 1.048576) / large.s).toFixed(1)} MB/s, gzip ${(large.size / 1e6).toFixed(0)} MB)`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();
