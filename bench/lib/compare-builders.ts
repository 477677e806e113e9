/**
 * Builders for bench/compare.ts: every one pulls its base image from the bench's local registry on every
 * build (nothing of the base kept between builds, except what the builder is designed to keep: Kiln's layer
 * store in the "kiln" column; "kiln cold" empties it before each build).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../test/env/run.ts';
import { startDockerd, unmountUnder } from './builders.ts';
import { measure, type Measured } from './measure.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT_TAG = 'kiln-bench-out:latest';

export interface CompareBuilder {
  readonly name: string;
  build(context: string, logFile: string): Promise<Measured>;
  /** Drops what one build left (output, built image, pulled base, build cache) so the next starts alike. */
  afterBuild(): Promise<void>;
  stop(): Promise<void>;
}

/** Kiln writing an OCI layout; `store` false empties its layer store before every build. */
export function kilnCompare(registryHost: string, dir: string, warmStore: boolean): CompareBuilder {
  const work = path.join(dir, 'work');
  const out = path.join(dir, 'out');
  const store = path.join(dir, 'layers');
  fs.mkdirSync(work, { recursive: true });
  return {
    name: warmStore ? 'kiln' : 'kiln cold',
    async build(context, logFile) {
      if (!warmStore) fs.rmSync(store, { recursive: true, force: true });
      const argv = [path.join(repoRoot, 'bin/kiln'), 'build', '--context', context, '--no-push', '--oci-layout-path', out,
        '--insecure-registry', registryHost, '--log-timestamp'];
      return measure(argv, logFile, { env: { ...process.env, NO_COLOR: '1', KILN_WORK_DIR: work, KILN_LAYER_STORE: store } });
    },
    async afterBuild() {
      fs.rmSync(out, { recursive: true, force: true });
      // Kiln deletes its work dir in the background after exiting: wait, so the next build does not pay for it.
      for (let i = 0; i < 600 && fs.readdirSync(work).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    },
    async stop() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `buildah bud --layers` on vfs storage, pulling the base every time. */
export function buildahCompare(dir: string): CompareBuilder {
  const root = path.join(dir, 'root');
  const runroot = path.join(dir, 'runroot');
  const global = ['--root', root, '--runroot', runroot, '--storage-driver', 'vfs'];
  return {
    name: 'buildah --layers',
    async build(context, logFile) {
      const argv = ['buildah', ...global, 'bud', '--isolation', 'chroot', '--pull-always', '--tls-verify=false', '--no-cache', '--layers',
        '--format', 'docker', '-t', OUT_TAG, context];
      return measure(argv, logFile);
    },
    async afterBuild() {
      await run('buildah', [...global, 'rm', '--all']);
      await run('buildah', [...global, 'rmi', '--all', '--force']).catch(() => undefined);
    },
    async stop() {
      await unmountUnder(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `docker build` (BuildKit) on a dockerd started here; the pulled base is removed after every build. */
export async function dockerCompare(registryHost: string, dir: string): Promise<CompareBuilder> {
  const { host, docker, stop, daemon } = startDockerd(dir, ['--insecure-registry', registryHost]);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (daemon.exitCode !== null) {
      await stop();
      throw new Error(`dockerd exited ${daemon.exitCode}`);
    }
    if (await docker(['version']).then(() => true, () => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('dockerd did not answer within 60 s');
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    name: 'docker (BuildKit)',
    async build(context, logFile) {
      const argv = ['/usr/bin/docker', '-H', host, 'build', '--pull', '--no-cache', '--network', 'host', '--progress', 'plain', '-t', OUT_TAG, context];
      return measure(argv, logFile, { env: { ...process.env, DOCKER_BUILDKIT: '1' } });
    },
    async afterBuild() {
      await docker(['image', 'prune', '--all', '--force']).catch(() => undefined);
      await docker(['rmi', '--force', OUT_TAG]).catch(() => undefined);
      await docker(['builder', 'prune', '--all', '--force']);
    },
    stop,
  };
}
