/**
 * One two-platform build (`--custom-platform linux/amd64,linux/arm64`, one image index) against two
 * single-platform builds run one after another (what teams do with kaniko), in the same run, on the
 * multi-platform busybox of the test env read from an OCI layout (no registry, nothing pulled). arm64 RUN
 * steps go through QEMU registered in a private user namespace's binfmt_misc (test/env/private-binfmt.ts);
 * every build runs there, with --isolation=userns. Needs root and qemu-user-static.
 *
 *   ./node_modules/.bin/node bench/multi-platform.ts [--runs N]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { multiArchBusyboxLayout, MULTIARCH_REF } from '../test/env/multiarch-busybox.ts';
import { privateBinfmtProblem, runWithPrivateBinfmt } from '../test/env/private-binfmt.ts';
import { KILN } from '../test/integration/builder/kiln-process.ts';
import { median } from './lib/measure.ts';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 1;
const problem = privateBinfmtProblem();
if (problem) {
  console.error(`multi-platform bench: ${problem}`);
  process.exit(2);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-multi-'));
const ctx = path.join(work, 'ctx');
fs.mkdirSync(path.join(ctx, 'app'), { recursive: true });
for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(ctx, 'app', `f${i}.txt`), `file ${i}\n`.repeat(50));
// A RUN with some CPU work (shell loop, checksums) so emulation costs show, and a COPY.
fs.writeFileSync(path.join(ctx, 'Dockerfile'), [
  'FROM busybox-multi',
  'ARG TARGETARCH',
  'COPY app /app',
  'RUN i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; find /app -type f | xargs sha256sum > /sums && uname -m > /arch',
  '',
].join('\n'));

async function build(platforms: string, n: number): Promise<number> {
  const layout = await multiArchBusyboxLayout();
  const started = process.hrtime.bigint();
  const r = await runWithPrivateBinfmt(KILN, ['build', '--context', ctx, '--no-push', '--isolation=userns', '--custom-platform', platforms,
    '--oci-layout-path', path.join(work, `out-${n}`), '--base-image-source', `busybox-multi=oci:${layout}:${MULTIARCH_REF}`], { emulate: true });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`kiln build --custom-platform ${platforms} failed:\n${r.stderr}`);
  fs.rmSync(path.join(work, `out-${n}`), { recursive: true, force: true });
  return seconds;
}

try {
  await multiArchBusyboxLayout();
  await build('linux/amd64', 0); // warm the page cache, untimed
  const multi: number[] = [];
  const amd64: number[] = [];
  const arm64: number[] = [];
  for (let i = 0; i < runs; i++) {
    multi.push(await build('linux/amd64,linux/arm64', 1));
    amd64.push(await build('linux/amd64', 2));
    arm64.push(await build('linux/arm64', 3));
  }
  const [m, a, b] = [median(multi), median(amd64), median(arm64)];
  console.log(`| build | s (median of ${runs}) |\n|---|---:|`);
  console.log(`| two-platform (one index) | ${m.toFixed(2)} |`);
  console.log(`| linux/amd64 alone | ${a.toFixed(2)} |`);
  console.log(`| linux/arm64 alone (emulated RUN) | ${b.toFixed(2)} |`);
  console.log(`| amd64 then arm64 | ${(a + b).toFixed(2)} |`);
  console.log(`\ntwo-platform ÷ (amd64 + arm64 one after another): ${(m / (a + b)).toFixed(2)}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
