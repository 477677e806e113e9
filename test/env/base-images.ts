/**
 * Offline base images as OCI layouts, built with umoci from real Debian packages and cached between runs in
 * the env cache (one directory per recipe version, so a changed recipe rebuilds).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, buildBusyboxCompat } from './busybox-recipe.ts';
import { cachedDir } from './cache-dir.ts';
import { buildDebian, unmountLeftovers } from './debian-recipe.ts';
import { conformanceDir, envCacheDir } from './paths.ts';
import type { TestRegistry } from './registry.ts';
import { run } from './run.ts';
import { collectGarbage } from './umoci.ts';

export type BaseImageName = 'busybox' | 'busybox-compat' | 'debian';

/** The ref name (`org.opencontainers.image.ref.name`) of each image inside its layout. */
export const baseImageRefNames: Readonly<Record<BaseImageName, string>> = {
  busybox: 'latest', 'busybox-compat': 'latest', debian: 'bookworm',
};

/** The repository:tag each image has on a docker.io mirror. */
export const baseImageMirrorNames: Readonly<Record<BaseImageName, string>> = {
  busybox: 'library/busybox:latest', 'busybox-compat': 'library/busybox-compat:latest',
  debian: 'library/debian:bookworm',
};

/** Bump a recipe's version when what it makes changes. */
const recipeVersions: Readonly<Record<BaseImageName, string>> = {
  busybox: 'busybox-v1', 'busybox-compat': 'busybox-compat-v1', debian: 'debian-bookworm-v1',
};

export const busyboxCompatFiles = ['passwd', 'group', 'adduser', 'addgroup'] as const;

/** The corpus' busybox-compat build context; an error that says so when the corpus is absent. */
export function busyboxCompatContext(): string {
  const corpus = conformanceDir();
  if (corpus === undefined) {
    throw new Error('busybox-compat needs the conformance corpus (bases/busybox-compat); set KILN_CONFORMANCE_DIR');
  }
  return join(corpus, 'bases', 'busybox-compat');
}

function contentKey(dir: string, names: readonly string[]): string {
  const hash = createHash('sha256');
  for (const name of names) hash.update(name).update('\0').update(readFileSync(join(dir, name))).update('\0');
  return hash.digest('hex').slice(0, 12);
}

export async function withWorkDir<T>(use: (workDir: string) => Promise<T>): Promise<T> {
  const parent = join(envCacheDir(), 'work');
  mkdirSync(parent, { recursive: true });
  const workDir = mkdtempSync(join(parent, 'build-'));
  try {
    return await use(workDir);
  } finally {
    await unmountLeftovers(workDir);
    rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * Directory of the OCI layout holding base image `name` (ref `latest`, or `bookworm` for debian), built on
 * first use (busybox ≈ 1 s, debian ≈ 30–60 s with network to the Debian mirror) and cached afterwards.
 */
export async function baseImageLayout(name: BaseImageName): Promise<string> {
  const imagesDir = join(envCacheDir(), 'images');
  const refName = baseImageRefNames[name];
  if (name === 'busybox') {
    return cachedDir(join(imagesDir, recipeVersions.busybox), (layout) => withWorkDir(async (work) => {
      await buildBusybox(layout, refName, work);
      await collectGarbage(layout);
    }));
  }
  if (name === 'busybox-compat') {
    const context = busyboxCompatContext();
    const key = `${recipeVersions['busybox-compat']}-${contentKey(context, busyboxCompatFiles)}`;
    const busybox = await baseImageLayout('busybox');
    return cachedDir(join(imagesDir, key), (layout) => withWorkDir(async (work) => {
      await buildBusyboxCompat(layout, refName, busybox, context, work);
      await collectGarbage(layout);
    }));
  }
  return cachedDir(join(imagesDir, recipeVersions.debian), (layout) => withWorkDir(async (work) => {
    await buildDebian(layout, refName, work);
    await collectGarbage(layout);
  }));
}

/** skopeo flags that reach `registry` as source (`src`) or destination (`dest`) with its CA and credentials. */
export function skopeoRegistryFlags(registry: TestRegistry, side: 'src' | 'dest' | ''): string[] {
  const prefix = side === '' ? '' : `${side}-`;
  const flags = [`--${prefix}tls-verify=${registry.tls}`, `--${prefix}authfile`, join(registry.dockerConfigDir, 'config.json')];
  if (registry.certDir !== undefined) flags.push(`--${prefix}cert-dir`, registry.certDir);
  return flags;
}

export interface PushedImage {
  /** `127.0.0.1:PORT/repo:tag` */
  reference: string;
  /** Digest of the manifest as pushed. */
  digest: string;
}

/** Push `layoutDir:refName` to `registry` as `target` (`repo:tag`) with skopeo, keeping digests. */
export async function pushImage(
  layoutDir: string, refName: string, registry: TestRegistry, target: string,
): Promise<PushedImage> {
  const reference = `${registry.host}/${target}`;
  const scratch = mkdtempSync(join(registry.workDir, 'push-'));
  try {
    const digestFile = join(scratch, 'digest');
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--digestfile', digestFile,
      ...skopeoRegistryFlags(registry, 'dest'), `oci:${layoutDir}:${refName}`, `docker://${reference}`]);
    return { reference, digest: readFileSync(digestFile, 'utf8').trim() };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `skopeo inspect` of `repo:tag` (or `repo@digest`) in `registry`; `raw` gives the manifest itself. */
export async function inspectImage(
  registry: TestRegistry, repoRef: string, options: { raw?: boolean } = {},
): Promise<Record<string, unknown>> {
  const args = ['--insecure-policy', 'inspect', ...(options.raw ? ['--raw'] : []),
    ...skopeoRegistryFlags(registry, ''), `docker://${registry.host}/${repoRef}`];
  return JSON.parse((await run('skopeo', args)).stdout) as Record<string, unknown>;
}
