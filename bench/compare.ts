/**
 * Kiln against `buildah bud --layers` and `docker build` (BuildKit, private dockerd) in one run, interleaved,
 * on the everyday workloads of issue 11. Every build is cache-free and pulls its base from a local registry
 * started here (busybox and debian from the test env, pushed once before anything is timed). Kiln runs twice
 * per build slot: "kiln" with its layer store kept between builds (the steady state on a CI machine: base layers
 * unpacked once) and "kiln cold" with the store emptied before every build. Prints medians, ratios and peak RSS
 * (process tree; dockerd's work is not in docker's client, so n/a) and the machine's load. Before every build
 * the machine settles (lib/settle.ts: sync, then wait for idle CPUs and disk), so no builder pays for the
 * previous one's write-back and deletes; `--no-settle` leaves that out (runs A–N were taken without). Needs root.
 *
 *   ./node_modules/.bin/node bench/compare.ts [--runs N] [--only small,apt] [--builders kiln,kiln-cold,buildah,docker] [--no-settle] [--out FILE]
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { baseImageLayout, pushImage } from '../test/env/base-images.ts';
import { startRegistry, type TestRegistry } from '../test/env/registry.ts';
import { buildahCompare, dockerCompare, kilnCompare, type CompareBuilder } from './lib/compare-builders.ts';
import { median, type Measured } from './lib/measure.ts';
import { settle } from './lib/settle.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const runs = Number(arg('--runs') ?? 3);
const only = arg('--only')?.split(',');
const builderNames = (arg('--builders') ?? 'kiln,kiln-cold,buildah,docker').split(',');
const outFile = arg('--out');
const settleFirst = !process.argv.includes('--no-settle');

if (process.geteuid?.() !== 0) {
  console.error('compare needs root (RUN sandboxes, buildah, dockerd)');
  process.exit(2);
}

interface Workload {
  key: string;
  title: string;
  dockerfile: (busybox: string, debian: string) => string;
  files?: (dir: string) => void;
}

function writeRandomTree(dir: string, files: number, bytes: number): void {
  const chunk = crypto.randomBytes(bytes);
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) fs.mkdirSync(sub, { recursive: true });
    // Different content per file, cheaply: rotate the random block.
    const at = (i * 7919) % bytes;
    fs.writeFileSync(path.join(sub, `f${i}`), Buffer.concat([chunk.subarray(at), chunk.subarray(0, at)]));
  }
}

const WORKLOADS: Workload[] = [
  {
    key: 'small', title: 'small: busybox, ENV, 2 COPY, 2 RUN, WORKDIR, CMD',
    dockerfile: (b) => `FROM ${b}\nENV GREETING=hello\nCOPY a.txt /etc/a.txt\nCOPY conf/ /conf/\nRUN echo "$GREETING" > /hello\nWORKDIR /app\nRUN cat /etc/a.txt /conf/c.txt > all\nCMD ["sh"]\n`,
    files: (dir) => {
      fs.writeFileSync(path.join(dir, 'a.txt'), 'a\n');
      fs.mkdirSync(path.join(dir, 'conf'));
      fs.writeFileSync(path.join(dir, 'conf/c.txt'), 'c\n');
    },
  },
  {
    key: 'runheavy', title: 'runheavy: 10 RUN steps on busybox, a few files each',
    dockerfile: (b) => [`FROM ${b}`, ...Array.from({ length: 10 }, (_, i) => `RUN mkdir -p /data/s${i} && echo ${i} > /data/s${i}/f && echo ${i} >> /etc/steps`)].join('\n') + '\n',
  },
  {
    key: 'manyfiles', title: 'manyfiles: one RUN creating 20,000 files on busybox',
    dockerfile: (b) => `FROM ${b}\nRUN mkdir /many && cd /many && for d in $(seq 1 200); do mkdir $d; for f in $(seq 1 100); do echo "$d $f" > $d/$f; done; done\n`,
  },
  {
    key: 'bigfile', title: 'bigfile: one RUN writing 256 MiB from /dev/urandom on busybox',
    dockerfile: (b) => `FROM ${b}\nRUN dd if=/dev/urandom of=/big bs=1M count=256 2>/dev/null\n`,
  },
  {
    key: 'copyctx', title: 'copyctx: COPY of a 5k-file, 100 MB context on busybox',
    dockerfile: (b) => `FROM ${b}\nCOPY tree/ /ctx/\n`,
    files: (dir) => writeRandomTree(path.join(dir, 'tree'), 5000, 20_000),
  },
  {
    key: 'apt', title: 'apt: debian bookworm, apt-get update && apt-get install -y --no-install-recommends tree',
    dockerfile: (_b, d) => `FROM ${d}\nRUN apt-get update && apt-get install -y --no-install-recommends tree && rm -rf /var/lib/apt/lists/*\n`,
  },
  {
    key: 'multistage', title: 'multistage: two stages on busybox, COPY --from',
    dockerfile: (b) => `FROM ${b} AS build\nRUN mkdir /out && for i in $(seq 1 50); do echo $i > /out/f$i; done\nFROM ${b}\nCOPY --from=build /out /out\nRUN ls /out | wc -l > /count\n`,
  },
];

const selected = WORKLOADS.filter((w) => only === undefined || only.includes(w.key));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-compare-'));
const builders: CompareBuilder[] = [];
let registry: TestRegistry | undefined;
let cleaning: Promise<void> | undefined;

/** One cleanup, awaited by whoever asks (a signal and a failing main() may both ask). */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const b of builders) await b.stop().catch((e: Error) => console.error(`stopping ${b.name}: ${e.message}`));
    await registry?.stop().catch((e: Error) => console.error(`stopping the registry: ${e.message}`));
    fs.rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

function ensureTool(binary: string, pkg: string): boolean {
  const has = (): boolean => spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
  if (has()) return true;
  console.error(`installing ${pkg} (for ${binary}) …`);
  spawnSync('apt-get', ['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=900', pkg], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return has();
}

const loadavg = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' / ');
const fmtS = (ms: number): string => (ms / 1000).toFixed(2);
const fmtMB = (kib: number): string => (kib / 1024).toFixed(0);

async function main(): Promise<void> {
  const loadBefore = loadavg();
  registry = await startRegistry({ mode: 'plain' });
  const busybox = (await pushImage(await baseImageLayout('busybox'), 'latest', registry, 'library/busybox:latest')).reference;
  const debian = selected.some((w) => w.key === 'apt')
    ? (await pushImage(await baseImageLayout('debian'), 'bookworm', registry, 'library/debian:bookworm')).reference
    : '';
  for (const name of builderNames) {
    const dir = path.join(work, `builder-${name}`);
    try {
      if (name === 'kiln' || name === 'kiln-cold') builders.push(kilnCompare(registry.host, dir, name === 'kiln'));
      else if (name === 'buildah' && ensureTool('buildah', 'buildah')) builders.push(buildahCompare(dir));
      else if (name === 'docker' && ensureTool('dockerd', 'docker.io')) builders.push(await dockerCompare(registry.host, dir));
    } catch (err) {
      console.error(`${name} skipped: ${(err as Error).message}`);
    }
  }
  const results = new Map<string, Map<string, Measured[]>>();
  const contexts = new Map<string, string>();
  for (const w of selected) {
    const dir = path.join(work, `context-${w.key}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'Dockerfile'), w.dockerfile(busybox, debian));
    w.files?.(dir);
    contexts.set(w.key, dir);
    results.set(w.key, new Map(builders.map((b) => [b.name, []])));
  }
  // Interleaved: every run builds every workload with every builder, the builder order rotating each time.
  for (let r = 0; r < runs; r++) {
    for (const [wi, w] of selected.entries()) {
      const order = builders.map((_, i) => builders[(i + r + wi) % builders.length]);
      for (const b of order) {
        const log = path.join(work, `${w.key}-${b.name.replace(/\W+/g, '_')}-${r}.log`);
        const waited = settleFirst ? await settle() : 0;
        const m = await b.build(contexts.get(w.key)!, log);
        if (m.exitCode !== 0) {
          console.error(`${b.name} failed on ${w.key} (exit ${m.exitCode}):\n${fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}`);
        } else {
          results.get(w.key)!.get(b.name)!.push(m);
          console.error(`run ${r + 1}/${runs} ${w.key} ${b.name}: ${fmtS(m.ms)} s, ${fmtMB(m.peakTreeRssKiB)} MB (load ${os.loadavg()[0].toFixed(1)}, settled ${Math.round(waited)} ms)`);
        }
        await b.afterBuild();
      }
    }
  }
  const lines: string[] = [];
  lines.push(`Machine: ${os.cpus().length} cores, load average (1/5/15 min) before ${loadBefore}, after ${loadavg()}; ${runs} run(s) per cell; ${settleFirst ? 'settled before every build' : 'not settled between builds'}.`, '');
  const ratios = new Map<string, number[]>();
  for (const w of selected) {
    lines.push(`### ${w.title}`, '', '| builder | median s | runs s | kiln ÷ this | kiln cold ÷ this | peak RSS MB: tree / top process (median) |', '|---|---:|---|---:|---:|---:|');
    const cell = results.get(w.key)!;
    const med = (name: string): number | undefined => {
      const ms = cell.get(name)?.map((m) => m.ms) ?? [];
      return ms.length === 0 ? undefined : median(ms);
    };
    for (const b of builders) {
      const ms = cell.get(b.name)!.map((m) => m.ms);
      if (ms.length === 0) {
        lines.push(`| ${b.name} | failed | | | | |`);
        continue;
      }
      const m = median(ms);
      const ratio = (name: string): string => {
        const k = med(name);
        if (k === undefined) return '';
        if (name === 'kiln' && b.name !== 'kiln' && b.name !== 'kiln cold') ratios.set(b.name, [...(ratios.get(b.name) ?? []), k / m]);
        return (k / m).toFixed(2);
      };
      const rss = b.name.startsWith('docker') ? 'n/a (in dockerd)'
        : `${fmtMB(median(cell.get(b.name)!.map((x) => x.peakTreeRssKiB)))} / ${fmtMB(median(cell.get(b.name)!.map((x) => x.peakTopHwmKiB)))}`;
      lines.push(`| ${b.name} | ${fmtS(m)} | ${ms.map(fmtS).join(', ')} | ${ratio('kiln')} | ${ratio('kiln cold')} | ${rss} |`);
    }
    lines.push('');
  }
  for (const [name, list] of ratios) {
    const geo = Math.exp(list.reduce((s, x) => s + Math.log(x), 0) / list.length);
    lines.push(`Geometric mean of kiln ÷ ${name} over ${list.length} workloads: ${geo.toFixed(2)}`);
  }
  const text = lines.join('\n') + '\n';
  process.stdout.write(text);
  if (outFile) fs.writeFileSync(outFile, text);
}

main().then(cleanup, async (err: unknown) => {
  console.error(err);
  await cleanup();
  process.exit(1);
});
