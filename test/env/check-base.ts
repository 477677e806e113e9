/**
 * Compare a base image layout with the corpus' reference summary (reference/_bases/<name>.json): platform,
 * normalized config, history, layer count and the full file tree of the umoci-unpacked rootfs. Independent of
 * Kiln's own image code on purpose: it checks the test environment, not the builder.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir, envCacheDir } from './paths.ts';
import { compareTrees, summarizeRootfs, type FileTree } from './rootfs-summary.ts';
import { run } from './run.ts';
import { unpack } from './umoci.ts';

export type BaseReferenceName = 'busybox' | 'busybox-compat' | 'debian-bookworm';

export interface HistoryItem {
  created_by: string;
  empty_layer: boolean;
}

export interface BaseSummary {
  platform: { os: string; architecture: string };
  config: Record<string, unknown>;
  history: HistoryItem[];
  /** Layers whose tar holds at least one entry. */
  layers: number;
  layers_total: number;
  files: FileTree;
}

export interface BaseCheck {
  platform: string[];
  config: string[];
  history: string[];
  layers: string[];
  files: string[];
}

/** The reference summary, or undefined when the corpus is absent. */
export function loadBaseReference(name: BaseReferenceName): BaseSummary | undefined {
  const corpus = conformanceDir();
  if (corpus === undefined) return undefined;
  return JSON.parse(readFileSync(join(corpus, 'reference', '_bases', `${name}.json`), 'utf8')) as BaseSummary;
}

const configFields = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes',
  'StopSignal', 'Healthcheck', 'Shell', 'OnBuild', 'ArgsEscaped'] as const;

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** The corpus' config normalization: empties are null, port/volume maps become sorted key lists. */
export function normalizeConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of configFields) {
    let value = config[field];
    if (field === 'ArgsEscaped') { out[field] = value === true; continue; }
    if ((field === 'ExposedPorts' || field === 'Volumes') && value && typeof value === 'object') {
      value = Object.keys(value).sort();
    }
    if (field === 'Healthcheck' && value && typeof value === 'object') {
      value = Object.fromEntries(Object.entries(value).filter(([, v]) => !isEmpty(v) && v !== 0));
    }
    out[field] = isEmpty(value) ? null : value;
  }
  return out;
}

function readBlob(layoutDir: string, digest: string): Buffer {
  const [algorithm, hex] = digest.split(':');
  return readFileSync(join(layoutDir, 'blobs', algorithm, hex));
}

interface Descriptor { digest: string; annotations?: Record<string, string> }

async function layerEntryCount(layoutDir: string, digest: string): Promise<number> {
  const [algorithm, hex] = digest.split(':');
  const listing = (await run('tar', ['-tf', join(layoutDir, 'blobs', algorithm, hex)])).stdout;
  return listing.split('\n').filter((line) => line !== '' && line !== './').length;
}

/** Summarize `layoutDir:refName` the way the corpus summarizes images (files from a umoci unpack). */
export async function summarizeBaseLayout(layoutDir: string, refName: string): Promise<BaseSummary> {
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const descriptor = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === refName);
  if (!descriptor) throw new Error(`${layoutDir} has no image named ${refName}`);
  const manifest = JSON.parse(readBlob(layoutDir, descriptor.digest).toString('utf8')) as {
    config: Descriptor; layers: Descriptor[];
  };
  const image = JSON.parse(readBlob(layoutDir, manifest.config.digest).toString('utf8')) as {
    os: string; architecture: string; config?: Record<string, unknown>;
    history?: Array<{ created_by?: string; empty_layer?: boolean }>;
  };
  let layers = 0;
  for (const layer of manifest.layers) if (await layerEntryCount(layoutDir, layer.digest) > 0) layers++;

  const scratchParent = join(envCacheDir(), 'work');
  mkdirSync(scratchParent, { recursive: true });
  const scratch = mkdtempSync(join(scratchParent, 'check-'));
  try {
    await unpack(layoutDir, refName, join(scratch, 'bundle'));
    return {
      platform: { os: image.os, architecture: image.architecture },
      config: normalizeConfig(image.config ?? {}),
      history: (image.history ?? []).map((h) => ({ created_by: h.created_by ?? '', empty_layer: h.empty_layer === true })),
      layers,
      layers_total: manifest.layers.length,
      files: summarizeRootfs(join(scratch, 'bundle', 'rootfs')),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function compareJson(label: string, expected: unknown, actual: unknown): string[] {
  const a = JSON.stringify(expected);
  const b = JSON.stringify(actual);
  return a === b ? [] : [`${label}: expected ${a}, got ${b}`];
}

/** The corpus' paths whose content depends on when a command ran: only presence and type are compared. */
export const volatilePatterns: readonly string[] = [
  '/etc/ld.so.cache', '/var/cache/man/**', '/var/cache/ldconfig/aux-cache', '/var/log/**', '/var/cache/debconf/*',
  '/var/lib/dpkg/*-old', '/var/cache/apt/*.bin', '/var/lib/apt/lists/**', '**/__pycache__/**', '**/*.pyc',
  '/root/.wget-hsts', '/root/.bash_history', '/root/.cache/**', '/tmp/**', '/var/tmp/**',
];

function globToRegExp(pattern: string): RegExp {
  const source = pattern.split(/(\*\*|\*)/).map((part) => {
    if (part === '**') return '.*';
    if (part === '*') return '[^/]*';
    return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }).join('');
  return new RegExp(`^${source}$`);
}

const volatileRegExps = volatilePatterns.map(globToRegExp);

export function isVolatilePath(path: string): boolean {
  return volatileRegExps.some((re) => re.test(path));
}

/** Drop the differences the corpus ignores: anything but presence and type on volatile paths. */
function withoutVolatileContent(differences: string[]): string[] {
  return differences.filter((line) => {
    const match = /^(\/.*): (\w+) /.exec(line);
    return !match || match[2] === 'type' || !isVolatilePath(match[1]);
  });
}

/**
 * Differences between a layout and a reference, grouped by what differs (all empty = identical). Content of
 * volatile paths is compared only when `strict` is set.
 */
export function compareBase(reference: BaseSummary, actual: BaseSummary, strict = false): BaseCheck {
  const files = compareTrees(reference.files, actual.files);
  return {
    platform: compareJson('platform', reference.platform, actual.platform),
    config: configFields.flatMap((f) => compareJson(`config.${f}`, reference.config[f] ?? null, actual.config[f] ?? null)),
    history: compareJson('history', reference.history, actual.history),
    layers: [
      ...compareJson('layers', reference.layers, actual.layers),
      ...compareJson('layers_total', reference.layers_total, actual.layers_total),
    ],
    files: strict ? files : withoutVolatileContent(files),
  };
}

/** Check a layout against a reference summary; undefined when the corpus is absent. */
export async function checkBaseLayout(
  layoutDir: string, refName: string, referenceName: BaseReferenceName,
): Promise<BaseCheck | undefined> {
  const reference = loadBaseReference(referenceName);
  if (reference === undefined || !existsSync(layoutDir)) return undefined;
  return compareBase(reference, await summarizeBaseLayout(layoutDir, refName));
}
