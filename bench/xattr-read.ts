/**
 * Reading the xattrs a RUN step's snapshot reads (the upper dir as a tree, then a few chosen paths), through the
 * long-lived xattr server against one getfattr spawn per call (the fallback, and what every step did before),
 * interleaved in one process whose heap is grown to Kiln's size (~100 MB: a spawn's cost grows with the
 * parent's memory). Prints medians per call and their ratio, with the machine's load.
 *
 *   ./node_modules/.bin/node bench/xattr-read.ts [--rounds N]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { getfattrPathXattrs, getfattrTreeXattrs } from '../src/fs/xattrs/getfattr.ts';
import { serverPathXattrs, serverTreeXattrs } from '../src/fs/xattrs/xattr-server.ts';
import { median } from './lib/measure.ts';

const i = process.argv.indexOf('--rounds');
const rounds = i >= 0 ? Number(process.argv[i + 1]) : 50;

// An upper dir after a small RUN step: a few directories and files.
const root = mkdtempSync(join(tmpdir(), 'kiln-bench-xattr-'));
for (let d = 0; d < 5; d++) {
  mkdirSync(join(root, `data/s${d}`), { recursive: true });
  writeFileSync(join(root, `data/s${d}/f`), `${d}\n`);
}
const paths = ['data', 'data/s0', 'data/s0/f', 'etc/missing'].map((p) => join(root, p));
// Kiln's heap during a build.
const ballast = Array.from({ length: 100 }, () => Buffer.alloc(1 << 20, 1));

function time(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

try {
  const first = time(() => serverTreeXattrs(root));
  const server: number[] = [];
  const getfattr: number[] = [];
  for (let r = 0; r < rounds; r++) {
    getfattr.push(time(() => (getfattrTreeXattrs(root), getfattrPathXattrs(paths))));
    server.push(time(() => (serverTreeXattrs(root), serverPathXattrs(paths))));
  }
  const s = median(server);
  const g = median(getfattr);
  console.log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${rounds} rounds, heap ballast ${ballast.length} MB`);
  console.log(`tree + paths via getfattr (2 spawns): median ${g.toFixed(2)} ms`);
  console.log(`tree + paths via xattr server:        median ${s.toFixed(3)} ms (${(s / g).toFixed(3)}×); first call with server start ${first.toFixed(1)} ms`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
