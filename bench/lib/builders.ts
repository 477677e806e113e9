/**
 * The builders a RUN benchmark compares: Kiln (namespace + overlay, or chroot + walk snapshots), and as
 * references `buildah bud --isolation chroot --storage-driver vfs` and `docker build` (BuildKit) on a dockerd
 * started by hand. Every builder gets the same base images from OCI layouts, loaded before anything is timed,
 * and keeps all its state under one directory that `stop()` removes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../test/env/run.ts';
import { measure, type Measured } from './measure.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A base image: the name Dockerfiles use in FROM (fully qualified) and where its OCI layout is. */
export interface BaseImage {
  name: string;
  layout: string;
  ref: string;
}

export interface BuildResult extends Measured {
  /** Duration of each RUN step in ms, in order, when the builder reports it (Kiln, docker). */
  runStepsMs: number[];
  /** Kiln only: from the "built image" log line (image written) to the process's exit, i.e. its cleanup. */
  afterImageMs?: number;
}

export interface Builder {
  readonly name: string;
  build(context: string, logFile: string, pollMs?: number): Promise<BuildResult>;
  /** Removes what one build left (output, built image, build cache) so the next build starts alike. */
  afterBuild(): Promise<void>;
  stop(): Promise<void>;
}

const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '');

/** Kiln's "STEP n/m: done in 1.23s" lines of RUN steps. */
function kilnRunSteps(log: string): number[] {
  const runSteps = new Set<string>();
  const times: number[] = [];
  for (const line of stripAnsi(log).split('\n')) {
    const start = /STEP (\d+\/\d+): RUN /.exec(line);
    if (start !== null) runSteps.add(start[1]);
    const done = /STEP (\d+\/\d+): done in (?:(\d+)m)?([\d.]+)s/.exec(line);
    if (done !== null && runSteps.has(done[1])) times.push((Number(done[2] ?? 0) * 60 + Number(done[3])) * 1000);
  }
  return times;
}

/** Epoch ms of Kiln's `time="…" … msg="built image …"` line (with --log-timestamp). */
function kilnImageWrittenAt(log: string): number | undefined {
  const match = /time="([^"]+)"[^\n]*msg="built image/.exec(log);
  return match === null ? undefined : Date.parse(match[1]);
}

/** BuildKit's plain progress: "#6 [3/3] RUN …" then "#6 DONE 0.1s". */
function buildkitRunSteps(log: string): number[] {
  const runIds = new Set<string>();
  const times: number[] = [];
  for (const line of log.split('\n')) {
    const start = /^#(\d+) \[\s*\d+\/\d+\] RUN /.exec(line);
    if (start !== null) runIds.add(start[1]);
    const done = /^#(\d+) DONE ([\d.]+)s/.exec(line);
    if (done !== null && runIds.has(done[1])) times.push(Number(done[2]) * 1000);
  }
  return times;
}

export function kilnBuilder(isolation: 'auto' | 'chroot', bases: readonly BaseImage[], dir: string): Builder {
  const work = path.join(dir, 'work');
  const out = path.join(dir, 'out');
  fs.mkdirSync(work, { recursive: true });
  const sources = bases.flatMap((b) => ['--base-image-source', `${b.name}=oci:${b.layout}:${b.ref}`]);
  return {
    name: isolation === 'auto' ? 'kiln' : 'kiln chroot',
    async build(context, logFile, pollMs) {
      const argv = [path.join(repoRoot, 'bin/kiln'), 'build', '--context', context, '--no-push', '--oci-layout-path', out,
        `--isolation=${isolation}`, '--log-timestamp', ...sources];
      const result = await measure(argv, logFile, { env: { ...process.env, NO_COLOR: '1', KILN_WORK_DIR: work }, pollMs });
      const log = fs.readFileSync(logFile, 'utf8');
      const writtenAt = kilnImageWrittenAt(log);
      return { ...result, runStepsMs: kilnRunSteps(log), afterImageMs: writtenAt === undefined ? undefined : result.endedAt - writtenAt };
    },
    async afterBuild() {
      const left = fs.readdirSync(work);
      if (left.length > 0) console.error(`note: kiln left ${left.join(', ')} in its work dir`);
      fs.rmSync(out, { recursive: true, force: true });
      for (const name of left) fs.rmSync(path.join(work, name), { recursive: true, force: true });
    },
    async stop() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const OUT_TAG = 'kiln-bench-out:latest';

/** `cached`: builds keep and use buildah's layer cache (bench/cache.ts); otherwise every build starts cold. */
export async function buildahBuilder(bases: readonly BaseImage[], dir: string, layers: boolean, cached = false): Promise<Builder> {
  const root = path.join(dir, 'root');
  const runroot = path.join(dir, 'runroot');
  const global = ['--root', root, '--runroot', runroot, '--storage-driver', 'vfs'];
  for (const base of bases) {
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${base.layout}:${base.ref}`,
      `containers-storage:[vfs@${root}+${runroot}]${base.name}`]);
  }
  return {
    name: layers ? 'buildah --layers' : 'buildah',
    async build(context, logFile, pollMs) {
      const argv = ['buildah', ...global, 'bud', '--isolation', 'chroot', '--pull-never', ...(cached ? [] : ['--no-cache']),
        ...(layers ? ['--layers'] : []), '--format', 'docker', '-t', OUT_TAG, context];
      return { ...(await measure(argv, logFile, { pollMs })), runStepsMs: [] };
    },
    async afterBuild() {
      if (cached) return;
      await run('buildah', [...global, 'rm', '--all']);
      await run('buildah', [...global, 'rmi', '--force', OUT_TAG]).catch(() => undefined);
      await run('buildah', [...global, 'rmi', '--prune']);
    },
    async stop() {
      await unmountUnder(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Unmounts every mount point at or below `dir`, deepest first (a daemon stopped mid-way may leave some). */
async function unmountUnder(dir: string): Promise<void> {
  const points = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await run('umount', ['-l', point]).catch(() => undefined);
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** `cached`: builds keep and use BuildKit's cache (bench/cache.ts); otherwise every build starts cold. */
export async function dockerBuilder(bases: readonly BaseImage[], dir: string, cached = false): Promise<Builder> {
  const socket = path.join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  fs.mkdirSync(dir, { recursive: true });
  const logFd = fs.openSync(path.join(dir, 'dockerd.log'), 'w');
  const daemon = spawn('dockerd', ['--bridge=none', '--iptables=false', '--ip-masq=false',
    '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'), '--pidfile', path.join(dir, 'dockerd.pid'),
    '-H', host], { stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  const docker = (args: readonly string[]): Promise<unknown> => run('/usr/bin/docker', ['-H', host, ...args]);
  const stop = async (): Promise<void> => {
    if (daemon.pid !== undefined && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      if (!(await waitForExit(daemon, 30_000))) {
        daemon.kill('SIGKILL');
        await waitForExit(daemon, 5_000);
      }
    }
    await unmountUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (daemon.exitCode !== null) throw new Error(`dockerd exited ${daemon.exitCode}; see ${dir}/dockerd.log`);
      if (await docker(['version']).then(() => true, () => false)) break;
      if (Date.now() > deadline) throw new Error('dockerd did not answer within 30 s');
      await new Promise((r) => setTimeout(r, 300));
    }
    for (const base of bases) {
      await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-daemon-host', host,
        `oci:${base.layout}:${base.ref}`, `docker-daemon:${base.name}`]);
    }
  } catch (error) {
    const log = fs.existsSync(path.join(dir, 'dockerd.log')) ? fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8') : '';
    await stop();
    throw new Error(`${(error as Error).message}\n${log.split('\n').slice(-10).join('\n')}`);
  }
  return {
    name: 'docker',
    async build(context, logFile, pollMs) {
      const argv = ['/usr/bin/docker', '-H', host, 'build', ...(cached ? [] : ['--no-cache']), '--network', 'host', '--progress', 'plain', '-t', OUT_TAG, context];
      const result = await measure(argv, logFile, { env: { ...process.env, DOCKER_BUILDKIT: '1' }, pollMs });
      return { ...result, runStepsMs: buildkitRunSteps(fs.readFileSync(logFile, 'utf8')) };
    },
    async afterBuild() {
      if (cached) return;
      await docker(['rmi', '--force', OUT_TAG]).catch(() => undefined);
      await docker(['builder', 'prune', '--all', '--force']);
    },
    stop,
  };
}
