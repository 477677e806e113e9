/**
 * Kiln's own images (the repository's Dockerfile), built by Kiln through scripts/build-image.sh into docker
 * archives, and kept in the env cache under a hash of everything the build reads: several test files share one
 * build per change of the sources. Base images come from a test registry used as the docker.io mirror.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { baseImageLayout, baseImageRefNames, pushImage } from '../../env/base-images.ts';
import { cachedDir } from '../../env/cache-dir.ts';
import { envCacheDir, repoRoot } from '../../env/paths.ts';
import { startDockerd, type Dockerd } from '../../env/dockerd.ts';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';

export const imageTargets = ['executor', 'debug', 'warmer'] as const;
export type ImageTarget = (typeof imageTargets)[number];

/** The base image names the Dockerfile uses, and the test env's image that stands in for each. */
export const dockerfileBases = [
  { repoTag: 'library/debian:bookworm-slim', image: 'debian' },
  { repoTag: 'library/busybox:musl', image: 'busybox' },
] as const;

const inputs = ['Dockerfile', 'Dockerfile.dockerignore', 'LICENSE', 'package.json', 'package-lock.json', 'bin/kiln', 'scripts', 'src'];

function filesUnder(rel: string): string[] {
  const abs = path.join(repoRoot, rel);
  if (!fs.statSync(abs).isDirectory()) return [rel];
  return fs.readdirSync(abs).sort().flatMap((name) => filesUnder(path.join(rel, name)));
}

/** A digest of the image build's inputs (names and contents). */
export function imageInputsHash(): string {
  const hash = createHash('sha256');
  for (const file of inputs.flatMap(filesUnder)) hash.update(`${file}\0`).update(fs.readFileSync(path.join(repoRoot, file))).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** The name a target's archive is tagged with (and `docker load` gives it). */
export function imageName(target: ImageTarget): string {
  return `kiln-test/${target}:dev`;
}

async function pushBases(registry: TestRegistry): Promise<void> {
  for (const base of dockerfileBases) {
    await pushImage(await baseImageLayout(base.image), baseImageRefNames[base.image], registry, base.repoTag);
  }
}

/**
 * Docker archives of the three images, built when the sources changed since the last build. `registry` (a TLS
 * one) serves the Dockerfile's base images as the docker.io mirror; they are pushed only when a build is needed.
 */
export async function kilnImageArchives(registry: TestRegistry): Promise<Record<ImageTarget, string>> {
  let pushed = false;
  const dir = await cachedDir(path.join(envCacheDir(), 'kiln-images', imageInputsHash()), async (temp) => {
    fs.mkdirSync(temp);
    if (!pushed) await pushBases(registry);
    pushed = true;
    for (const target of imageTargets) {
      await promisify(execFile)(path.join(repoRoot, 'scripts', 'build-image.sh'), [target, '--no-push',
        '--destination', imageName(target), '--tar-path', path.join(temp, `${target}.tar`),
        '--registry-mirror', registry.host, '--registry-certificate', `${registry.host}=${registry.caFile}`,
      ], { env: { ...process.env, DOCKER_CONFIG: registry.dockerConfigDir, NO_COLOR: '1' }, maxBuffer: 64 << 20 });
    }
  });
  pruneOldBuilds(path.dirname(dir), 3);
  return Object.fromEntries(imageTargets.map((t) => [t, path.join(dir, `${t}.tar`)])) as Record<ImageTarget, string>;
}

/** Each source change adds ~160 MB of archives to the env cache: keep the `keep` newest builds only. */
function pruneOldBuilds(parent: string, keep: number): void {
  const builds = fs.readdirSync(parent).filter((name) => /^[0-9a-f]{16}$/.test(name))
    .map((name) => ({ dir: path.join(parent, name), mtime: fs.statSync(path.join(parent, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of builds.slice(keep)) fs.rmSync(old.dir, { recursive: true, force: true });
}

export interface ImageTestEnv {
  /** A temp dir for the test's contexts and volumes. */
  work: string;
  /** A TLS registry with Basic auth, holding library/busybox:latest (the Dockerfiles' `FROM busybox`). */
  registry: TestRegistry;
  /** A private dockerd with `targets` loaded (as imageName(target)). */
  dockerd: Dockerd;
  archives: Record<ImageTarget, string>;
  /** Stops and removes all of it, last started first. */
  stop(): Promise<void>;
}

/** What the image tests start in `before`: a registry, Kiln's images (built if needed), a dockerd that has them. */
export async function startImageTestEnv(targets: readonly ImageTarget[]): Promise<ImageTestEnv> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-images-'));
    cleanups.push(() => fs.rmSync(work, { recursive: true, force: true }));
    const registry = await startRegistry({ mode: 'basic' });
    cleanups.push(() => registry.stop());
    await pushImage(await baseImageLayout('busybox'), baseImageRefNames.busybox, registry, 'library/busybox:latest');
    const archives = await kilnImageArchives(registry);
    const dockerd = await startDockerd({ after: (fn) => { cleanups.push(fn); } });
    for (const target of targets) {
      const loaded = dockerd.docker('load', '-i', archives[target]);
      if (!loaded.includes(`Loaded image: ${imageName(target)}`)) throw new Error(`docker load ${archives[target]}: ${loaded}`);
    }
    return { work, registry, dockerd, archives, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
