/**
 * The layer cache: cold build, warm rebuild (nothing changed) and a rebuild after one context file changed, for
 * Kiln (`--cache=true --cache-repo oci:DIR --cache-copy-layers`), `docker build` (BuildKit, its own cache, on a
 * private dockerd) and `buildah bud --layers` (its own cache), measured in the same run on the same base images
 * (OCI layouts loaded before anything is timed). The reference for Kiln's warm rebuild is the time to hash the
 * context the way a cache key does (src/cache/tree-digest.ts, in this process, page cache warm). Needs root.
 *
 *   ./node_modules/.bin/node bench/cache.ts [--runs N] [--only a,b] [--builders kiln,docker,buildah] [--files 5000] [--out FILE]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeDigest } from '../src/cache/tree-digest.ts';
import { baseImageLayout } from '../test/env/base-images.ts';
import { buildahBuilder, dockerBuilder, type BaseImage, type Builder } from './lib/builders.ts';
import { measure, median } from './lib/measure.ts';
import { busyboxName, debianName } from './lib/workloads.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const runs = Number(arg('--runs') ?? 3);
const files = Number(arg('--files') ?? 5000);
const only = arg('--only')?.split(',');
const builderNames = (arg('--builders') ?? 'kiln,docker,buildah').split(',');

if (process.geteuid?.() !== 0) {
  console.error('bench/cache.ts needs root (RUN sandboxes, buildah, dockerd)');
  process.exit(2);
}

interface CacheWorkload {
  key: string;
  title: string;
  base: string;
  dockerfile: string;
  /** Writes the context's files (besides the Dockerfile). */
  fill(dir: string): void;
  /** The one file the "changed" rebuild edits, relative to the context. */
  changed: string;
}

function writeTree(dir: string, count: number): void {
  const content = Buffer.from('a small source file of the cache benchmark\n'.repeat(8));
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, `src/d${Math.floor(i / 100)}`);
    if (i % 100 === 0) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}.txt`), content);
  }
}

const selected: CacheWorkload[] = [
  {
    key: 'a', title: '(a) Debian + apt-get install, then COPY of an app dir', base: debianName,
    dockerfile: `FROM ${debianName}\nRUN apt-get update && apt-get install -y --no-install-recommends less tree netbase && rm -rf /var/lib/apt/lists/*\nCOPY app/ /app/\nRUN cat /app/version > /app/built\n`,
    fill: (dir: string) => { fs.mkdirSync(path.join(dir, 'app')); fs.writeFileSync(path.join(dir, 'app/version'), '1\n'); },
    changed: 'app/version',
  },
  {
    key: 'b', title: `(b) busybox + COPY of a ${files}-file context + a RUN`, base: busyboxName,
    dockerfile: `FROM ${busyboxName}\nCOPY src/ /src/\nRUN find /src -type f | wc -l > /count && cat /src/d0/f0.txt > /first\n`,
    fill: (dir: string) => writeTree(dir, files),
    changed: 'src/d0/f0.txt',
  },
].filter((w) => only === undefined || only.includes(w.key));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-cache-'));
const builders: Builder[] = [];

/** Kiln with a layer cache in an OCI layout; `reset` empties the cache (the cold build's state). */
function kilnCachedBuilder(bases: readonly BaseImage[], dir: string): Builder & { reset(): void } {
  const cache = path.join(dir, 'cache');
  const out = path.join(dir, 'out');
  const workDir = path.join(dir, 'work');
  fs.mkdirSync(workDir, { recursive: true });
  const sources = bases.flatMap((b) => ['--base-image-source', `${b.name}=oci:${b.layout}:${b.ref}`]);
  return {
    name: 'kiln',
    async build(context, logFile, pollMs) {
      const argv = [path.join(repoRoot, 'bin/kiln'), 'build', '--context', context, '--no-push', '--oci-layout-path', out,
        '--cache=true', `--cache-repo=oci:${cache}`, '--cache-copy-layers', ...sources];
      return { ...(await measure(argv, logFile, { env: { ...process.env, NO_COLOR: '1', KILN_WORK_DIR: workDir }, pollMs })), runStepsMs: [] };
    },
    async afterBuild() {
      fs.rmSync(out, { recursive: true, force: true });
    },
    reset() {
      fs.rmSync(cache, { recursive: true, force: true });
    },
    async stop() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startBuilders(bases: BaseImage[]): Promise<void> {
  for (const name of builderNames) {
    const dir = path.join(work, `builder-${name}`);
    try {
      if (name === 'kiln') builders.push(kilnCachedBuilder(bases, dir));
      else if (name === 'docker') builders.push(await dockerBuilder(bases, dir, true));
      else if (name === 'buildah') builders.push(await buildahBuilder(bases, dir, true, true));
      else throw new Error(`unknown builder ${name}`);
    } catch (error) {
      console.error(`skipping ${name}: ${(error as Error).message}`);
    }
  }
}

/** Each builder's cold state: its cache emptied (a fresh builder dir for the references). */
async function resetCaches(bases: BaseImage[]): Promise<void> {
  for (const [i, builder] of builders.entries()) {
    if ('reset' in builder) {
      (builder as { reset(): void }).reset();
      continue;
    }
    await builder.stop();
    const name = builder.name.startsWith('docker') ? 'docker' : 'buildah';
    const dir = path.join(work, `builder-${name}`);
    builders[i] = name === 'docker' ? await dockerBuilder(bases, dir, true) : await buildahBuilder(bases, dir, true, true);
  }
}

type Phase = 'cold' | 'warm' | 'changed';
const PHASES: Phase[] = ['cold', 'warm', 'changed'];

async function runWorkload(workload: CacheWorkload, bases: BaseImage[]): Promise<string> {
  const times = new Map<string, Record<Phase, number[]>>(builders.map((b) => [b.name, { cold: [], warm: [], changed: [] }]));
  const hashMs: number[] = [];
  for (let r = 0; r < runs; r++) {
    await resetCaches(bases);
    const context = path.join(work, `context-${workload.key}-${r}`);
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'Dockerfile'), workload.dockerfile);
    workload.fill(context);
    const started = performance.now();
    treeDigest(context, [context]);
    hashMs.push(performance.now() - started);
    for (const phase of PHASES) {
      if (phase === 'changed') fs.appendFileSync(path.join(context, workload.changed), `changed in run ${r}\n`);
      for (const builder of builders) {
        const logFile = path.join(work, `log-${workload.key}-${builder.name.replace(/\W/g, '')}-${r}-${phase}.txt`);
        const result = await builder.build(context, logFile, 0);
        await builder.afterBuild();
        if (result.exitCode !== 0) {
          console.error(`${workload.key} ${builder.name} ${phase} FAILED:\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}`);
          continue;
        }
        times.get(builder.name)![phase].push(result.ms);
        console.error(`${workload.key} run ${r + 1}/${runs} ${builder.name} ${phase}: ${(result.ms / 1000).toFixed(2)} s`);
      }
    }
    fs.rmSync(context, { recursive: true, force: true });
  }
  const s = (ms: number | undefined): string => (ms === undefined ? '' : (ms / 1000).toFixed(2));
  const med = (list: number[]): number | undefined => (list.length === 0 ? undefined : median(list));
  const kiln = times.get('kiln');
  const hash = median(hashMs);
  const lines = [
    `### ${workload.title}`,
    '',
    `Time to hash the context (tree-digest, in process): ${(hash).toFixed(0)} ms (median of ${runs}).`,
    '',
    `| builder | cold s | warm s | one file changed s | warm ÷ hash time | kiln warm ÷ this warm | kiln changed ÷ this changed |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, t] of times) {
    const warm = med(t.warm);
    const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '' : (a / b).toFixed(2));
    lines.push(`| ${name} | ${s(med(t.cold))} | ${s(warm)} | ${s(med(t.changed))} | ${ratio(warm, hash)} | ${ratio(kiln && med(kiln.warm), warm)} | ${ratio(kiln && med(kiln.changed), med(t.changed))} |`);
  }
  return lines.join('\n');
}

try {
  const bases: BaseImage[] = [];
  if (selected.some((w) => w.base === busyboxName)) bases.push({ name: busyboxName, layout: await baseImageLayout('busybox'), ref: 'latest' });
  if (selected.some((w) => w.base === debianName)) bases.push({ name: debianName, layout: await baseImageLayout('debian'), ref: 'bookworm' });
  if (builderNames.includes('buildah') && spawnSync('sh', ['-c', 'command -v buildah'], { stdio: 'ignore' }).status !== 0) {
    console.error('buildah is not installed (apt-get install buildah)');
  }
  await startBuilders(bases);
  const out = [`Layer cache benchmark, ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, ${runs} runs`];
  for (const workload of selected) {
    const text = await runWorkload(workload, bases);
    out.push(text);
    console.log(`\n${text}\n`);
  }
  const summary = arg('--out');
  if (summary !== undefined) fs.writeFileSync(summary, `${out.join('\n\n')}\n`);
} finally {
  for (const builder of builders) await builder.stop().catch((e: Error) => console.error(`stopping ${builder.name}: ${e.message}`));
  fs.rmSync(work, { recursive: true, force: true });
}
