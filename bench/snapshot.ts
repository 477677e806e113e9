/**
 * Snapshot cost of a one-file RUN step on rootfs trees of 5k and 100k files: the overlay snapshotter (upper dir)
 * against the walk snapshotter (modes redo and full), with a bare lstat walk of the same tree as the in-run
 * reference. Needs root to mount overlayfs (overlay rows are skipped otherwise).
 *
 *   ./node_modules/.bin/node bench/snapshot.ts [--sizes 5000,100000] [--runs 5]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyUpperToLower, diffSnapshots, overlayUpperEntries, takeSnapshot } from '../src/fs/snapshot/index.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const sizes = arg('--sizes', '5000,100000').split(',').map(Number);
const runs = Number(arg('--runs', '5'));
const isRoot = process.geteuid?.() === 0;

/** A rootfs-like tree: 100 files per directory, two levels, small files. */
function makeTree(root: string, files: number): void {
  const content = Buffer.from('#!/bin/sh\n# generated file for the snapshot benchmark\n'.repeat(4));
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `usr/d${Math.floor(i / 10000)}/s${Math.floor(i / 100) % 100}`);
    if (i % 100 === 0) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}`), content);
  }
  fs.mkdirSync(path.join(root, 'etc'));
  fs.writeFileSync(path.join(root, 'etc/config'), 'a=1\n');
}

function lstatWalk(dir: string): number {
  let n = 0;
  for (const name of fs.readdirSync(dir)) {
    const p = `${dir}/${name}`;
    const st = fs.lstatSync(p);
    n++;
    if (st.isDirectory()) n += lstatWalk(p);
  }
  return n;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

/** The RUN step: one file changed. */
function step(dir: string, i: number): void {
  fs.appendFileSync(path.join(dir, 'etc/config'), `b=${i}\n`);
}

interface Row {
  files: number;
  name: string;
  ms: number;
  entries: number;
}

const rows: Row[] = [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-snapshot-'));
const merged = path.join(work, 'merged');
try {
  for (const files of sizes) {
    const rootfs = path.join(work, `rootfs-${files}`);
    makeTree(rootfs, files);
    lstatWalk(rootfs); // warm the dentry and inode caches for everyone alike

    rows.push({ files, name: 'reference: bare lstat walk', ms: median(Array.from({ length: runs }, () => time(() => lstatWalk(rootfs)))), entries: 0 });

    for (const mode of ['redo', 'full'] as const) {
      let before = takeSnapshot(rootfs, { content: mode === 'full', ignorePaths: ['/proc'] });
      const times: number[] = [];
      let entries = 0;
      for (let i = 0; i < runs; i++) {
        step(rootfs, i);
        times.push(time(() => {
          const result = diffSnapshots(before, rootfs, { mode });
          before = result.snapshot;
          entries = result.entries.length;
        }));
      }
      rows.push({ files, name: `walk, mode ${mode}`, ms: median(times), entries });
    }

    if (isRoot) {
      const upper = path.join(work, 'upper');
      const wd = path.join(work, 'work');
      const snapshotTimes: number[] = [];
      const applyTimes: number[] = [];
      let entries = 0;
      for (let i = 0; i < runs; i++) {
        for (const d of [upper, wd, merged]) fs.mkdirSync(d, { recursive: true });
        execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${rootfs},upperdir=${upper},workdir=${wd}`, merged]);
        try {
          step(merged, i);
        } finally {
          execFileSync('umount', [merged]);
        }
        snapshotTimes.push(time(() => {
          entries = overlayUpperEntries(upper, { lower: rootfs, ignorePaths: ['/proc'] }).entries.length;
        }));
        applyTimes.push(time(() => applyUpperToLower(upper, rootfs)));
      }
      rows.push({ files, name: 'overlay: upper dir → entries', ms: median(snapshotTimes), entries });
      rows.push({ files, name: 'overlay: merge upper into lower', ms: median(applyTimes), entries: 0 });
    }
  }
} finally {
  try {
    execFileSync('umount', [merged], { stdio: 'ignore' });
  } catch {
    // not mounted
  }
  fs.rmSync(work, { recursive: true, force: true });
}

const reference = new Map(rows.filter((r) => r.name.startsWith('reference')).map((r) => [r.files, r.ms]));
const lines = [
  `| files | snapshotter | ms (median of ${runs}) | × bare lstat walk | entries |`,
  '|---:|---|---:|---:|---:|',
  ...rows.map((r) => `| ${r.files} | ${r.name} | ${r.ms.toFixed(1)} | ${(r.ms / reference.get(r.files)!).toFixed(2)} | ${r.entries || ''} |`),
];
console.log(lines.join('\n'));
if (!isRoot) console.log('\n(overlay rows skipped: mounting overlayfs needs root)');
