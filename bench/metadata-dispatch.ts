/**
 * Dispatch cost of metadata instructions: `kiln build` of Dockerfiles with N alternating ENV/LABEL lines
 * (FROM scratch, OCI layout output), against the same build with one line measured in the same run (start-up
 * and output). Linear dispatch gives (t(10N) − t(1)) / (t(N) − t(1)) ≈ 10; quadratic dispatch ≈ 100.
 *
 *   ./node_modules/.bin/node bench/metadata-dispatch.ts [--n 2000] [--runs 3] [--kiln OTHER/bin/kiln]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const n = Number(arg('--n', '2000'));
const runs = Number(arg('--runs', '3'));
const kiln = path.resolve(arg('--kiln', path.join(root, 'bin', 'kiln')));

function dockerfile(lines: number): string {
  const out = ['FROM scratch'];
  for (let i = 0; i < lines; i++) out.push(i % 2 ? `LABEL l${i}=v${i}` : `ENV e${i}=v${i}`);
  return `${out.join('\n')}\n`;
}

function buildSeconds(dir: string): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(kiln, ['build', '--context', dir, '--no-push', '--oci-layout-path', path.join(dir, `out-${Math.random()}`)], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`kiln build failed in ${dir}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-meta-'));
try {
  const sizes = [1, n, 10 * n];
  const dirs = sizes.map((lines) => {
    const dir = path.join(scratch, String(lines));
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile(lines));
    return dir;
  });
  const times: number[][] = sizes.map(() => []);
  for (let r = 0; r < runs; r++) dirs.forEach((dir, i) => times[i].push(buildSeconds(dir)));
  const [t1, tn, t10n] = times.map(median);
  console.log(`kiln: ${kiln}`);
  for (const [i, lines] of sizes.entries()) console.log(`${String(lines).padStart(7)} lines: ${median(times[i]).toFixed(2)} s (median of ${runs})`);
  console.log(`ratio (t(${10 * n}) - t(1)) / (t(${n}) - t(1)) = ${((t10n - t1) / (tn - t1)).toFixed(1)}  (linear ≈ 10, quadratic ≈ 100)`);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
