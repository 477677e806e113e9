/**
 * Layer extraction speed: applyLayer vs GNU `tar -xpf` on the same ~200 MB / 20k-entry layer, in the same run.
 * Usage: node bench/extract.ts [--files 20000] [--mb 200] [--rounds 3] [--dir /tmp]
 * Prints MB/s and entries/s for both and the ratio (ours / GNU tar throughput; 1.0 = as fast as GNU tar).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, symlinkSync, linkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyLayer } from '../src/fs/extract/apply-layer.ts';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    mb: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: process.env.KILN_BENCH_DIR ?? tmpdir() },
  },
});
const fileCount = Number(values.files);
const totalBytes = Number(values.mb) * 1024 * 1024;
const rounds = Number(values.rounds);

/** A tree like a distro layer: many small files, a few large ones, some symlinks and hardlinks. */
function makeTree(dir: string): number {
  const largeEvery = 100;
  const large = Math.floor(fileCount / largeEvery);
  const smallSize = 2048;
  const largeSize = Math.max(smallSize, Math.floor((totalBytes - (fileCount - large) * smallSize) / Math.max(large, 1)));
  const pattern = Buffer.alloc(largeSize);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 2654435761) >>> 24;
  let entries = 0;
  for (let i = 0; i < fileCount; i++) {
    const sub = join(dir, `usr/share/pkg${Math.floor(i / 50)}`);
    if (i % 50 === 0) {
      mkdirSync(sub, { recursive: true });
      entries += 1;
    }
    const size = i % largeEvery === 0 ? largeSize : smallSize - (i % 512);
    writeFileSync(join(sub, `file${i}`), pattern.subarray(0, size));
    entries += 1;
    if (i % 200 === 1) {
      symlinkSync(`file${i}`, join(sub, `link${i}`));
      linkSync(join(sub, `file${i}`), join(sub, `hard${i}`));
      entries += 2;
    }
  }
  return entries;
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const work = mkdtempSync(join(values.dir, 'kiln-bench-extract-'));
try {
  const tree = join(work, 'tree');
  mkdirSync(tree);
  const entries = makeTree(tree);
  const layer = join(work, 'layer.tar');
  execFileSync('tar', ['--numeric-owner', '-C', tree, '-cf', layer, '.']);
  rmSync(tree, { recursive: true, force: true });
  const layerBytes = statSync(layer).size;
  console.log(`layer: ${(layerBytes / 1e6).toFixed(1)} MB, ${entries} entries (${fileCount} files), ${rounds} rounds each, dir ${work}`);

  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const who of ['kiln', 'gnu-tar'] as const) {
      const target = join(work, `out-${who}-${round}`);
      mkdirSync(target);
      execFileSync('sync');
      const start = performance.now();
      if (who === 'kiln') await applyLayer(target, createReadStream(layer, { highWaterMark: 1 << 20 }));
      else execFileSync('tar', ['--numeric-owner', '-xpf', layer, '-C', target]);
      const seconds = (performance.now() - start) / 1000;
      (who === 'kiln' ? ours : theirs).push(seconds);
      rmSync(target, { recursive: true, force: true });
    }
  }
  const report = (name: string, seconds: number): void => {
    console.log(`${name.padEnd(8)} ${seconds.toFixed(3)} s  ${(layerBytes / 1e6 / seconds).toFixed(0).padStart(5)} MB/s  ${(entries / seconds).toFixed(0).padStart(7)} entries/s`);
  };
  report('kiln', median(ours));
  report('gnu tar', median(theirs));
  console.log(`ratio (kiln throughput / GNU tar throughput, median of ${rounds}): ${(median(theirs) / median(ours)).toFixed(2)}`);
  console.log(`all runs: kiln ${ours.map((s) => s.toFixed(2)).join(' ')} | tar ${theirs.map((s) => s.toFixed(2)).join(' ')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
