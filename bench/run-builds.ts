/**
 * RUN-heavy builds: Kiln (namespace + overlay snapshots, and --isolation=chroot with walk snapshots) against
 * `buildah bud --isolation chroot --storage-driver vfs` (with and without --layers) and `docker build`
 * (BuildKit, dockerd started by hand), all measured in the same run on the same base images loaded from OCI
 * layouts (no registry, no pulls timed). Reports median wall times, Kiln ÷ reference ratios, the RUN step
 * times Kiln and BuildKit print, and the peak RSS of each builder's process tree. Needs root.
 *
 *   ./node_modules/.bin/node bench/run-builds.ts [--quick] [--runs N] [--apt-runs N] [--only a,b,c,d,e]
 *       [--builders kiln,kiln-chroot,buildah,buildah-layers,docker] [--big-mib 1024] [--trees 5000,100000]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseImageLayout } from '../test/env/base-images.ts';
import { buildahBuilder, dockerBuilder, kilnBuilder, type BaseImage, type Builder, type BuildResult } from './lib/builders.ts';
import { measureOk, median } from './lib/measure.ts';
import { busyboxName, debianName, treeName, workloads, writeContext, writeTreeContext, type Workload } from './lib/workloads.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const quick = process.argv.includes('--quick');
const runs = Number(arg('--runs') ?? (quick ? 1 : 3));
const aptRuns = Number(arg('--apt-runs') ?? (quick ? 1 : 3));
const bigFileMiB = Number(arg('--big-mib') ?? (quick ? 256 : 1024));
const treeSizes = (arg('--trees') ?? (quick ? '5000,20000' : '5000,100000')).split(',').map(Number);
const only = arg('--only')?.split(',');
const builderNames = (arg('--builders') ?? 'kiln,kiln-chroot,buildah,buildah-layers,docker').split(',');

if (process.geteuid?.() !== 0) {
  console.error('run-builds needs root (RUN sandboxes, buildah, dockerd)');
  process.exit(2);
}

/** Installs a Debian package when `binary` is missing; false when it is still missing afterwards. */
function ensureTool(binary: string, pkg: string): boolean {
  const has = (): boolean => spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
  if (has()) return true;
  console.error(`installing ${pkg} (for ${binary}) …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (spawnSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env }).status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    spawnSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env });
  }
  return has();
}

const selected = workloads({ runs, aptRuns, bigFileMiB, treeSizes })
  .filter((w) => only === undefined || only.includes(w.key) || only.includes(w.key[0]));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-run-'));
const builders: Builder[] = [];
let cleaned = false;

async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  for (const builder of builders) {
    await builder.stop().catch((error: Error) => console.error(`stopping ${builder.name}: ${error.message}`));
  }
  fs.rmSync(work, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

/** The base images the selected workloads need: busybox and debian from the test env, trees built with Kiln. */
async function prepareBases(): Promise<BaseImage[]> {
  const names = new Set(selected.flatMap((w) => w.bases));
  const bases: BaseImage[] = [];
  const busybox: BaseImage = { name: busyboxName, layout: await baseImageLayout('busybox'), ref: 'latest' };
  bases.push(busybox);
  if (names.has(debianName)) bases.push({ name: debianName, layout: await baseImageLayout('debian'), ref: 'bookworm' });
  for (const files of treeSizes) {
    if (!names.has(treeName(files))) continue;
    const context = writeTreeContext(work, files);
    const layout = path.join(work, `base-tree${files}`);
    const started = performance.now();
    await measureOk([path.join(repoRoot, 'bin/kiln'), 'build', '--context', context, '--no-push', '--oci-layout-path', layout,
      '--base-image-source', `${busybox.name}=oci:${busybox.layout}:latest`],
    path.join(work, `base-tree${files}.log`), { env: { ...process.env, NO_COLOR: '1', KILN_WORK_DIR: path.join(work, 'kiln-base') }, pollMs: 0 });
    console.error(`base image with ${files} files built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    fs.rmSync(context, { recursive: true, force: true });
    bases.push({ name: treeName(files), layout, ref: 'latest' });
  }
  return bases;
}

async function startBuilders(bases: BaseImage[]): Promise<void> {
  for (const name of builderNames) {
    const dir = path.join(work, `builder-${name}`);
    try {
      if (name === 'kiln') builders.push(kilnBuilder('auto', bases, dir));
      else if (name === 'kiln-chroot') builders.push(kilnBuilder('chroot', bases, dir));
      else if (name === 'buildah' || name === 'buildah-layers') {
        if (!ensureTool('buildah', 'buildah')) throw new Error('buildah is not installed');
        builders.push(await buildahBuilder(bases, dir, name === 'buildah-layers'));
      } else if (name === 'docker') {
        if (!ensureTool('dockerd', 'docker.io') || !fs.existsSync('/usr/bin/docker')) throw new Error('docker.io is not installed');
        builders.push(await dockerBuilder(bases, dir));
      } else throw new Error(`unknown builder ${name}`);
    } catch (error) {
      console.error(`skipping ${name}: ${(error as Error).message}`);
    }
  }
}

interface Cell {
  builder: string;
  results: BuildResult[];
  failures: string[];
}

async function runWorkload(workload: Workload): Promise<Cell[]> {
  const context = writeContext(work, workload);
  const cells: Cell[] = builders.map((b) => ({ builder: b.name, results: [], failures: [] }));
  for (let r = 0; r < workload.runs; r++) {
    // Rotate the order each run so no builder always goes first (cold caches) or last.
    for (let k = 0; k < builders.length; k++) {
      const index = (k + r) % builders.length;
      const builder = builders[index];
      const logFile = path.join(work, `log-${workload.key}-${index}-${r}.txt`);
      const result = await builder.build(context, logFile, 100);
      if (result.exitCode === 0) {
        cells[index].results.push(result);
        console.error(`${workload.key} run ${r + 1}/${workload.runs} ${builder.name}: ${(result.ms / 1000).toFixed(2)} s`);
      } else {
        const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
        cells[index].failures.push(`exit ${result.exitCode}`);
        console.error(`${workload.key} run ${r + 1} ${builder.name} FAILED (exit ${result.exitCode}):\n${tail}`);
      }
      await builder.afterBuild();
    }
  }
  return cells;
}

const fmtS = (ms: number): string => (ms / 1000).toFixed(2);
const fmtMB = (kib: number): string => (kib / 1024).toFixed(0);

function table(workload: Workload, cells: Cell[]): string {
  const wall = new Map(cells.filter((c) => c.results.length > 0).map((c) => [c.builder, median(c.results.map((r) => r.ms))]));
  const kiln = wall.get('kiln');
  const kilnChroot = wall.get('kiln chroot');
  const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '' : (a / b).toFixed(2));
  const lines = [
    `### ${workload.title}`,
    '',
    `| builder | median wall s (of ${workload.runs}) | runs s | kiln ÷ this | kiln chroot ÷ this | last RUN step ms | exit after image written, ms | peak RSS MB: tree / top process |`,
    '|---|---:|---|---:|---:|---:|---:|---|',
  ];
  for (const cell of cells) {
    if (cell.results.length === 0) {
      lines.push(`| ${cell.builder} | failed (${cell.failures.join(', ')}) | | | | | | |`);
      continue;
    }
    const w = wall.get(cell.builder)!;
    const steps = cell.results.map((r) => r.runStepsMs.at(-1)).filter((v): v is number => v !== undefined);
    const rss = cell.builder === 'docker'
      ? 'n/a (in dockerd)'
      : `${fmtMB(Math.max(...cell.results.map((r) => r.peakTreeRssKiB)))} / ${fmtMB(Math.max(...cell.results.map((r) => r.peakTopHwmKiB)))}`;
    const tails = cell.results.map((r) => r.afterImageMs).filter((v): v is number => v !== undefined);
    const tail = tails.length > 0 ? median(tails).toFixed(0) : '';
    const failed = cell.failures.length > 0 ? ` (${cell.failures.length} failed)` : '';
    lines.push(`| ${cell.builder}${failed} | ${fmtS(w)} | ${cell.results.map((r) => fmtS(r.ms)).join(', ')} | ${ratio(kiln, w)} | ${ratio(kilnChroot, w)} | ${steps.length > 0 ? median(steps).toFixed(0) : ''} | ${tail} | ${rss} |`);
  }
  return lines.join('\n');
}

try {
  const bases = await prepareBases();
  await startBuilders(bases);
  console.error(`builders: ${builders.map((b) => b.name).join(', ')}; work dir ${work}`);
  const out: string[] = [`RUN benchmark, ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores${quick ? ', --quick' : ''}`];
  for (const workload of selected) {
    const cells = await runWorkload(workload);
    const text = table(workload, cells);
    out.push(text);
    console.log(`\n${text}\n`);
  }
  const summary = arg('--out');
  if (summary !== undefined) fs.writeFileSync(summary, `${out.join('\n\n')}\n`);
} finally {
  await cleanup();
}
