/** Shared pieces of the registry integration tests: options for a test registry, seeded images, small images. */
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { Agent } from 'undici';
import { readFileSync } from 'node:fs';
import type { ConfigFile, Image, Layer, Manifest } from '../../../src/image/types.ts';
import { defaultRegistryOptions } from '../../../src/registry/options.ts';
import type { RegistryOptions } from '../../../src/registry/options.ts';
import { baseImageLayout, baseImageRefNames, pushImage as skopeoPush } from '../../env/base-images.ts';
import type { PushedImage } from '../../env/base-images.ts';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { remoteImage } from '../../../src/registry/pull.ts';
import { parseReference } from '../../../src/registry/reference.ts';

export function optionsFor(reg: TestRegistry, overrides: Partial<RegistryOptions> = {}): RegistryOptions & { messages: string[] } {
  const messages: string[] = [];
  const opts = defaultRegistryOptions({
    dockerConfigDir: reg.dockerConfigDir,
    registryCertificates: reg.caFile ? { [reg.host]: reg.caFile } : {},
    retryBaseDelayMs: 20,
    log: (m) => messages.push(m),
    ...overrides,
  });
  return Object.assign(opts, { messages });
}

/** Puts the busybox base image into `reg` as `target` with skopeo. */
export async function seedBusybox(reg: TestRegistry, target = 'library/busybox:latest'): Promise<PushedImage> {
  return skopeoPush(await baseImageLayout('busybox'), baseImageRefNames.busybox, reg, target);
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** An image with `base`'s layers and a changed config: the same bytes under a new manifest digest. */
export async function variantImage(base: Image, change: (config: ConfigFile) => ConfigFile): Promise<Image> {
  const config = change(JSON.parse((await base.rawConfigFile()).toString()) as ConfigFile);
  const rawConfig = Buffer.from(JSON.stringify(config));
  const baseManifest = await base.manifest();
  const manifest: Manifest = { ...baseManifest, config: { ...baseManifest.config, digest: sha256(rawConfig), size: rawConfig.length } };
  const rawManifest = Buffer.from(JSON.stringify(manifest));
  const mediaType = await base.mediaType();
  const layers = await base.layers();
  return {
    mediaType: async () => mediaType,
    manifest: async () => manifest,
    rawManifest: async () => rawManifest,
    digest: async () => sha256(rawManifest),
    configFile: async () => config,
    rawConfigFile: async () => rawConfig,
    layers: async (): Promise<Layer[]> => layers,
  };
}

/** PUTs a manifest/index document directly (test set-up on a registry without auth). */
export async function putManifest(reg: TestRegistry, repository: string, tag: string, mediaType: string, raw: Buffer): Promise<void> {
  const dispatcher = new Agent({ connect: reg.caFile ? { ca: readFileSync(reg.caFile, 'utf8') } : {} });
  try {
    const res = await request(`${reg.url}/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': mediaType }, body: raw, dispatcher });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`PUT manifest: HTTP ${res.statusCode} ${text}`);
  } finally {
    await dispatcher.close();
  }
}

/** A plain registry holding busybox as library/busybox:latest, and the digest of its (one) layer. */
export async function busyboxRegistry(): Promise<{ registry: TestRegistry; layerDigest: string }> {
  const registry = await startRegistry({ mode: 'plain' });
  await seedBusybox(registry);
  const image = await remoteImage(parseReference(`${registry.host}/library/busybox:latest`), optionsFor(registry));
  return { registry, layerDigest: (await image.manifest()).layers[0].digest };
}
