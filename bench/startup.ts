/**
 * Start-up cost of the CLI: `kiln --version`, the time from process start to the first "STEP" log line of
 * `kiln build` on examples/hello, and that build's full wall time, against `node -e 0` (the project's Node)
 * and `skopeo --version` (what a compiled CLI costs) measured in the same run. Runs are interleaved round-robin
 * so load on the machine hits every case alike; read the ratio columns. CPU time (user + sys of the process and
 * its children, from bash's `times`) is reported too: on a busy machine it moves far less than wall time.
 *
 *   ./node_modules/.bin/node bench/startup.ts [--runs 15] [--compare OTHER/bin/kiln ...] [--no-modules] [--warm-only]
 *
 * Each --compare adds the same Kiln rows for another checkout (e.g. `git archive COMMIT | tar -x -C DIR` with
 * a node_modules symlink), labelled by its directory name, so before/after numbers come from one run.
 * --warm-only leaves out the cold-cache and cache-disabled build rows (for comparing many checkouts).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath;

function arg(name: string, fallback: string | undefined): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const runs = Number(arg('--runs', '15'));
const compares = process.argv.flatMap((a, i) => (a === '--compare' && process.argv[i + 1] ? [path.resolve(process.argv[i + 1])] : []));
/** A checkout's label: its directory name (…/NAME/bin/kiln). */
const labelOf = (kiln: string) => path.basename(path.dirname(path.dirname(kiln)));
const countModules = !process.argv.includes('--no-modules');
const warmOnly = process.argv.includes('--warm-only');

interface Run {
  /** From spawn() to the first "STEP n/m:" line on stderr, for builds. */
  firstStepMs?: number;
  wallMs: number;
  cpuMs: number;
}

interface Case {
  name: string;
  command: string;
  args: (work: string, i: number) => string[];
  env?: (work: string, i: number) => NodeJS.ProcessEnv;
  build?: boolean;
  runs: Run[];
}

const STEP_LINE = /\bSTEP \d+\/\d+:/;
/** bash's `times`: the shell's own user/sys, then its children's, e.g. "0m0.026s 0m0.006s". */
const TIMES = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s\n$/;

function childCpuMs(stderr: string): number {
  const m = TIMES.exec(stderr);
  if (!m) throw new Error(`no CPU times at the end of stderr:\n${stderr.slice(-300)}`);
  const sec = (min: string, s: string) => Number(min) * 60 + Number(s);
  return (sec(m[5], m[6]) + sec(m[7], m[8])) * 1000;
}

/**
 * Spawns one process (through bash, for its children's CPU times); times its first STEP line (if any) and
 * its exit, as the parent sees them. bash adds the same ~2 ms to every case.
 */
function timeOnce(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    let firstStepMs: number | undefined;
    const start = performance.now();
    const script = '"$@"; rc=$?; times >&2; exit $rc';
    const child = spawn('bash', ['-c', script, 'bash', command, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (firstStepMs === undefined && STEP_LINE.test(stderr.slice(-200) + chunk)) firstStepMs = performance.now() - start;
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - start;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr}`));
      else resolve({ firstStepMs, wallMs, cpuMs: childCpuMs(stderr) });
    });
  });
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
const median = (v: number[]) => quantile(v, 0.5);
const p90 = (v: number[]) => quantile(v, 0.9);

function hasCommand(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The environment every Kiln run gets: a private compile cache home, and no colour codes in the log. */
function kilnEnv(cacheHome: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  return { ...env, KILN_CACHE_HOME: cacheHome, NO_COLOR: '1', ...extra };
}

function kilnCases(label: string, kiln: string, work: string): Case[] {
  const hello = path.join(root, 'examples/hello');
  const buildArgs = (w: string, i: number) => ['build', '-c', hello, '--no-push', '--oci-layout-path', path.join(w, `out-${label}-${i}`)];
  const warm = path.join(work, `cache-${label}`);
  const all: Case[] = [
    { name: `${label}: kiln --version`, command: kiln, args: () => ['--version'], env: () => kilnEnv(warm), runs: [] },
    { name: `${label}: kiln build hello`, command: kiln, args: buildArgs, env: () => kilnEnv(warm), build: true, runs: [] },
    // An empty compile cache every run: the first build on a fresh CI machine (and it fills the cache).
    { name: `${label}: kiln build hello, cold cache`, command: kiln, args: buildArgs, env: (w, i) => kilnEnv(path.join(w, `cold-${label}-${i}`)), build: true, runs: [] },
    { name: `${label}: kiln build hello, NODE_DISABLE_COMPILE_CACHE=1`, command: kiln, args: buildArgs, env: () => kilnEnv(warm, { NODE_DISABLE_COMPILE_CACHE: '1' }), build: true, runs: [] },
  ];
  return warmOnly ? all.slice(0, 2) : all;
}

/** Which modules one hello build loads, counted with a module.registerHooks() preload. */
function modulesLoaded(kiln: string, work: string): { src: number; bundled: number; deps: Record<string, number>; builtins: number } {
  const out = path.join(work, `modules-${Math.random().toString(36).slice(2)}.txt`);
  const hook = [
    "import { registerHooks } from 'node:module';",
    "import { writeFileSync } from 'node:fs';",
    'const urls = new Set();',
    'registerHooks({ load(url, context, next) { urls.add(url); return next(url, context); } });',
    `process.on('exit', () => writeFileSync(${JSON.stringify(out)}, [...urls].join('\\n')));`,
  ].join('\n');
  const env = kilnEnv(path.join(work, 'cache-modules'), { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(hook)}` });
  const r = spawnSync(kiln, ['build', '-c', path.join(root, 'examples/hello'), '--no-push', '--oci-layout-path', path.join(work, 'out-modules')], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`module count build failed: ${r.stderr}`);
  fs.rmSync(path.join(work, 'out-modules'), { recursive: true, force: true });
  const urls = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
  const deps: Record<string, number> = {};
  let src = 0;
  let bundled = 0;
  let builtins = 0;
  for (const url of urls) {
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    if (pkg) deps[pkg] = (deps[pkg] ?? 0) + 1;
    else if (url.startsWith('node:')) builtins++;
    else if (url.includes('/src/')) src++;
    else if (url.includes('/dist/')) bundled++;
  }
  return { src, bundled, deps, builtins };
}

const fmt = (ms: number | undefined) => (ms === undefined ? '' : ms.toFixed(0));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || !b ? '' : (a / b).toFixed(1));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-startup-'));
try {
  const cases: Case[] = [{ name: 'reference: node -e 0', command: node, args: () => ['-e', '0'], runs: [] }];
  const skopeo = hasCommand('skopeo');
  if (skopeo) cases.push({ name: 'reference: skopeo --version', command: 'skopeo', args: () => ['--version'], runs: [] });
  cases.push(...kilnCases('this', path.join(root, 'bin/kiln'), work));
  for (const kiln of compares) cases.push(...kilnCases(labelOf(kiln), kiln, work));

  // One unrecorded round first: fills the warm compile caches and the page cache for everyone.
  for (let i = -1; i < runs; i++) {
    for (const c of cases) {
      const r = await timeOnce(c.command, c.args(work, i), c.env?.(work, i) ?? process.env);
      if (c.build && r.firstStepMs === undefined) throw new Error(`${c.name}: no STEP line on stderr`);
      if (i >= 0) c.runs.push(r);
      for (const name of fs.readdirSync(work)) {
        if (name.startsWith('out-') || name.startsWith('cold-')) fs.rmSync(path.join(work, name), { recursive: true, force: true });
      }
    }
  }

  const nodeMs = median(cases[0].runs.map((r) => r.wallMs));
  const skopeoMs = skopeo ? median(cases[1].runs.map((r) => r.wallMs)) : undefined;
  console.log(`Node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}, ${runs} runs per case (ms)\n`);
  const nodeCpu = median(cases[0].runs.map((r) => r.cpuMs));
  console.log('| case | first STEP median | first STEP p90 | wall median | wall p90 | CPU median | wall × node -e 0 | wall × skopeo --version | first STEP × node -e 0 | CPU × node -e 0 |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const wall = c.runs.map((r) => r.wallMs);
    const first = c.build ? c.runs.map((r) => r.firstStepMs!) : undefined;
    const w = median(wall);
    const f = first && median(first);
    const cpu = median(c.runs.map((r) => r.cpuMs));
    console.log(`| ${c.name} | ${fmt(f)} | ${first ? fmt(p90(first)) : ''} | ${fmt(w)} | ${fmt(p90(wall))} | ${fmt(cpu)} | ${ratio(w, nodeMs)} | ${ratio(w, skopeoMs)} | ${ratio(f, nodeMs)} | ${ratio(cpu, nodeCpu)} |`);
  }

  if (countModules) {
    const kilns: [string, string][] = [['this', path.join(root, 'bin/kiln')]];
    for (const kiln of compares) kilns.push([labelOf(kiln), kiln]);
    console.log('\nModules one hello build loads:\n');
    console.log('| kiln | src/ modules | dist/ modules (the bundle) | Node built-ins | npm packages (modules) |');
    console.log('|---|---:|---:|---:|---|');
    for (const [label, kiln] of kilns) {
      const m = modulesLoaded(kiln, work);
      const deps = Object.entries(m.deps).sort().map(([k, v]) => `${k} (${v})`).join(', ');
      console.log(`| ${label} | ${m.src} | ${m.bundled} | ${m.builtins} | ${deps} |`);
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
