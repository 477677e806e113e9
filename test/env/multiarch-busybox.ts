/**
 * A multi-platform base image: busybox for linux/amd64 (the host's busybox-static) and linux/arm64 (Debian's
 * busybox-static:arm64 package, downloaded through a private apt state — the machine's dpkg architectures and
 * package lists are untouched) under one OCI image index, cached in the env cache like the other bases.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { withWorkDir } from './base-images.ts';
import { buildBusybox, busyboxPackageVersion } from './busybox-recipe.ts';
import { cachedDir } from './cache-dir.ts';
import { envCacheDir } from './paths.ts';
import type { TestRegistry } from './registry.ts';
import { skopeoRegistryFlags } from './base-images.ts';
import { run } from './run.ts';

const RECIPE = 'busybox-multiarch-v1';
export const MULTIARCH_REF = 'latest';
export const MULTIARCH_PLATFORMS = ['linux/amd64', 'linux/arm64'] as const;

/** Downloads `pkg` for `arch` with apt into `dir` using package lists of its own; returns the .deb's path. */
async function downloadForeignDeb(pkg: string, arch: string, version: string, dir: string): Promise<string> {
  const state = join(dir, 'apt');
  mkdirSync(join(state, 'lists', 'partial'), { recursive: true });
  mkdirSync(join(state, 'cache', 'archives', 'partial'), { recursive: true });
  const options = [
    '-o', `Dir::State::Lists=${join(state, 'lists')}`, '-o', `Dir::Cache=${join(state, 'cache')}`,
    '-o', `APT::Architecture=${arch}`, '-o', `APT::Architectures::=${arch}`, '-o', 'Debug::NoLocking=1',
    '-o', 'APT::Sandbox::User=root', '-qq',
  ];
  await run('apt-get', [...options, 'update']);
  // The same version as the host's package, so both images hold the same busybox.
  await run('apt-get', [...options, 'download', `${pkg}:${arch}=${version}`], { cwd: dir });
  const deb = readdirSync(dir).find((n) => n.startsWith(`${pkg}_`) && n.endsWith(`_${arch}.deb`));
  if (!deb) throw new Error(`apt-get download ${pkg}:${arch} left no .deb in ${dir}`);
  return join(dir, deb);
}

interface LayoutEntry {
  mediaType: string;
  digest: string;
  size: number;
}

function onlyManifest(layout: string): LayoutEntry {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: LayoutEntry[] };
  const { mediaType, digest, size } = index.manifests[0];
  return { mediaType, digest, size };
}

function copyBlobs(from: string, to: string): void {
  const src = join(from, 'blobs', 'sha256');
  const dst = join(to, 'blobs', 'sha256');
  mkdirSync(dst, { recursive: true });
  for (const name of readdirSync(src)) copyFileSync(join(src, name), join(dst, name));
}

/** The layout dir (ref `latest` → an image index of linux/amd64 and linux/arm64), built once and cached. */
export function multiArchBusyboxLayout(): Promise<string> {
  return cachedDir(join(envCacheDir(), 'images', RECIPE), (layout) => withWorkDir(async (work) => {
    const version = await busyboxPackageVersion();
    const deb = await downloadForeignDeb('busybox-static', 'arm64', version, work);
    const unpacked = join(work, 'arm64-root');
    await run('dpkg-deb', ['-x', deb, unpacked]);
    const amd64 = join(work, 'amd64-layout');
    const arm64 = join(work, 'arm64-layout');
    mkdirSync(join(work, 'a'));
    mkdirSync(join(work, 'b'));
    await buildBusybox(amd64, MULTIARCH_REF, join(work, 'a'));
    await buildBusybox(arm64, MULTIARCH_REF, join(work, 'b'), { binary: join(unpacked, 'bin', 'busybox'), architecture: 'arm64' });
    mkdirSync(layout, { recursive: true });
    copyBlobs(amd64, layout);
    copyBlobs(arm64, layout);
    const platformOf = (p: string) => ({ os: p.split('/')[0], architecture: p.split('/')[1] });
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { ...onlyManifest(amd64), platform: platformOf(MULTIARCH_PLATFORMS[0]) },
        { ...onlyManifest(arm64), platform: platformOf(MULTIARCH_PLATFORMS[1]) },
      ],
    }));
    const digest = createHash('sha256').update(index).digest('hex');
    writeFileSync(join(layout, 'blobs', 'sha256', digest), index);
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(layout, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${digest}`, size: index.length,
        annotations: { 'org.opencontainers.image.ref.name': MULTIARCH_REF },
      }],
    }));
  }));
}

/** Pushes the multi-platform busybox (index and both images) to `registry` as `target` with skopeo. */
export async function pushMultiArchBusybox(registry: TestRegistry, target = 'library/busybox-multi:latest'): Promise<void> {
  const layout = await multiArchBusyboxLayout();
  await run('skopeo', ['--insecure-policy', 'copy', '--all', ...skopeoRegistryFlags(registry, 'dest'), `oci:${layout}:${MULTIARCH_REF}`, `docker://${registry.host}/${target}`]);
}
