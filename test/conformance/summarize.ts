/**
 * Summarises an image in an OCI layout the way ../shared/conformance/README.md defines ("Reference / summary
 * format"). Deliberately independent of Kiln's own image code: it is the oracle the builder is checked against.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

export interface FileEntry {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
  dev?: string;
  link?: string;
  xattrs?: Record<string, string>;
  implicit?: boolean;
}

export interface Summary {
  build: 'ok' | 'fails' | 'skipped';
  platform?: { os: string; architecture: string; variant?: string };
  config?: Record<string, unknown>;
  history?: { created_by: string; empty_layer: boolean }[];
  layers?: number;
  layers_total?: number;
  files?: Record<string, FileEntry>;
}

const CONFIG_FIELDS = [
  'Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal',
  'Healthcheck', 'Shell', 'OnBuild', 'ArgsEscaped',
] as const;

function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function blobPath(layout: string, digest: string): string {
  const [algo, hex] = digest.split(':');
  return path.join(layout, 'blobs', algo, hex);
}

/** Follows index.json (and nested indexes) to the one image manifest in the layout. */
function findManifest(layout: string): any {
  let index = readJson(path.join(layout, 'index.json'));
  for (;;) {
    const manifests: any[] = index.manifests ?? [];
    if (manifests.length !== 1) throw new Error(`expected one manifest in the layout, found ${manifests.length}`);
    const doc = readJson(blobPath(layout, manifests[0].digest));
    if (doc.manifests) { index = doc; continue; }
    return doc;
  }
}

function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

export function normaliseConfig(config: Record<string, any> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) {
    let v = config[field];
    if (field === 'ArgsEscaped') { out[field] = v === true; continue; }
    if ((field === 'ExposedPorts' || field === 'Volumes') && v && typeof v === 'object') v = Object.keys(v).sort();
    if (field === 'Healthcheck' && v && typeof v === 'object') {
      v = Object.fromEntries(Object.entries(v).filter(([, x]) => !isEmptyValue(x) && x !== 0));
    }
    out[field] = isEmptyValue(v) ? null : v;
  }
  return out;
}

function decompressor(mediaType: string, head: Buffer): NodeJS.ReadWriteStream | null {
  if (head[0] === 0x1f && head[1] === 0x8b) return zlib.createGunzip();
  if (head.readUInt32LE(0) === 0xfd2fb528) return zlib.createZstdDecompress();
  if (mediaType.endsWith('gzip') || mediaType.endsWith('zstd')) throw new Error(`layer says ${mediaType} but is not`);
  return null;
}

interface RawEntry {
  name: string;
  header: tar.Header;
  sha256?: string;
}

async function readLayer(file: string, mediaType: string): Promise<RawEntry[]> {
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  const entries: RawEntry[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const hash = crypto.createHash('sha256');
    stream.on('data', (chunk) => { hash.update(chunk as Buffer); });
    stream.on('end', () => {
      entries.push({ name: header.name, header, sha256: header.type === 'file' ? hash.digest('hex') : undefined });
      next();
    });
    stream.resume();
  });
  const d = decompressor(mediaType, head);
  const source = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  await (d ? pipeline(source, d, extract) : pipeline(source, extract));
  return entries;
}

function normalisePath(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  return '/' + parts.join('/');
}

function deleteTree(files: Map<string, FileEntry>, p: string): void {
  files.delete(p);
  const prefix = p === '/' ? '/' : p + '/';
  for (const key of [...files.keys()]) if (key.startsWith(prefix)) files.delete(key);
}

function typeOf(header: tar.Header): FileEntry['type'] | 'link' | null {
  switch (header.type) {
    case 'file': case 'contiguous-file': return 'file';
    case 'directory': return 'dir';
    case 'symlink': return 'symlink';
    case 'link': return 'link';
    case 'character-device': return 'char';
    case 'block-device': return 'block';
    case 'fifo': return 'fifo';
    default: return null;
  }
}

function xattrsOf(header: tar.Header): Record<string, string> | undefined {
  const pax = (header as any).pax as Record<string, string> | undefined;
  if (!pax) return undefined;
  const x: Record<string, string> = {};
  for (const [k, v] of Object.entries(pax)) {
    if (k.startsWith('SCHILY.xattr.')) x[k.slice('SCHILY.xattr.'.length)] = Buffer.from(v, 'latin1').toString('base64');
  }
  return Object.keys(x).length ? x : undefined;
}

/** Applies one layer's entries to the tree, per the README's whiteout and replacement rules. */
function applyLayer(files: Map<string, FileEntry>, linkOf: Map<string, string>, entries: RawEntry[]): void {
  for (const e of entries) {
    const p = normalisePath(e.name);
    const base = path.posix.basename(p);
    const dir = path.posix.dirname(p);
    if (base === '.wh..wh..opq') {
      for (const key of [...files.keys()]) if (key.startsWith(dir === '/' ? '/' : dir + '/')) files.delete(key);
    } else if (base.startsWith('.wh.')) {
      deleteTree(files, path.posix.join(dir, base.slice(4)));
    }
  }
  for (const e of entries) {
    const p = normalisePath(e.name);
    const base = path.posix.basename(p);
    if (base.startsWith('.wh.') || p === '/') continue;
    const type = typeOf(e.header);
    if (type === null) continue;
    const existing = files.get(p);
    if (!(type === 'dir' && existing?.type === 'dir')) deleteTree(files, p);
    if (type === 'link') {
      const target = normalisePath(e.header.linkname ?? '');
      const t = files.get(target);
      if (!t) throw new Error(`hardlink ${p} -> ${target}: target missing`);
      files.set(p, { ...t });
      linkOf.set(p, linkOf.get(target) ?? target);
      if (!linkOf.has(target)) linkOf.set(target, target);
      continue;
    }
    linkOf.delete(p);
    const h = e.header;
    const entry: FileEntry = {
      type,
      mode: type === 'symlink' ? '0777' : ((h.mode ?? 0) & 0o7777).toString(8).padStart(4, '0'),
      uid: h.uid ?? 0,
      gid: h.gid ?? 0,
    };
    if (type === 'file') { entry.size = h.size ?? 0; entry.sha256 = e.sha256; }
    if (type === 'symlink') entry.target = h.linkname ?? '';
    if (type === 'char' || type === 'block') entry.dev = `${h.devmajor ?? 0},${h.devminor ?? 0}`;
    const xattrs = xattrsOf(h);
    if (xattrs) entry.xattrs = xattrs;
    files.set(p, entry);
  }
}

/** Hard-link groups: every member gets link = the smallest path of its group (groups of one get none). */
function resolveLinks(files: Map<string, FileEntry>, linkOf: Map<string, string>): void {
  const groups = new Map<string, string[]>();
  for (const [p, root] of linkOf) {
    if (!files.has(p)) continue;
    const g = groups.get(root) ?? [];
    g.push(p);
    groups.set(root, g);
  }
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const smallest = members.slice().sort()[0];
    for (const m of members) files.get(m)!.link = smallest;
  }
}

function addImplicitParents(files: Map<string, FileEntry>): void {
  for (const p of [...files.keys()]) {
    for (let d = path.posix.dirname(p); d !== '/'; d = path.posix.dirname(d)) {
      if (files.has(d)) break;
      files.set(d, { type: 'dir', mode: '0755', uid: 0, gid: 0, implicit: true });
    }
  }
}

export async function summarizeLayout(layout: string): Promise<Summary> {
  const manifest = findManifest(layout);
  const config = readJson(blobPath(layout, manifest.config.digest));
  const files = new Map<string, FileEntry>();
  const linkOf = new Map<string, string>();
  let nonEmpty = 0;
  for (const layer of manifest.layers as any[]) {
    const entries = await readLayer(blobPath(layout, layer.digest), layer.mediaType);
    if (entries.length > 0) nonEmpty++;
    applyLayer(files, linkOf, entries);
  }
  resolveLinks(files, linkOf);
  addImplicitParents(files);
  const platform: Summary['platform'] = { os: config.os, architecture: config.architecture };
  if (config.variant) platform.variant = config.variant;
  return {
    build: 'ok',
    platform,
    config: normaliseConfig(config.config),
    history: (config.history ?? []).map((h: any) => ({ created_by: h.created_by ?? '', empty_layer: h.empty_layer === true })),
    layers: nonEmpty,
    layers_total: manifest.layers.length,
    files: Object.fromEntries([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
}

// Allow `node test/conformance/summarize.ts LAYOUT` by hand.
if (import.meta.main) {
  const layout = process.argv[2];
  if (!layout) { console.error('usage: summarize.ts OCI_LAYOUT_DIR'); process.exit(2); }
  console.log(JSON.stringify(await summarizeLayout(layout), null, 1));
}
