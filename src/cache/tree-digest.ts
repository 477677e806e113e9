/**
 * The digest of file trees as a step's cache key sees them: for each entry its path, type, permission
 * bits, content (files) or target (symlinks). Never times, owners or inode numbers: a fresh checkout of the
 * same commit must give the same digest. Synchronous on purpose: many small files (DESIGN.md).
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';

export interface TreeDigestOptions {
  /** Paths relative to `root` (no leading '/') the consumer never sees (.dockerignore). */
  isIgnored?: (relPath: string) => boolean;
}

const CHUNK = 1 << 20;
let buffer: Buffer | undefined;

/** sha256 of a file's bytes, read in 1 MiB chunks (never a whole big file in memory). */
export function fileContentDigest(file: string): string {
  buffer ??= Buffer.allocUnsafe(CHUNK);
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, CHUNK, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function relativeTo(root: string, host: string): string {
  if (host === root) return '';
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return host.startsWith(prefix) ? host.slice(prefix.length) : host;
}

function typeOf(stats: fs.Stats): string {
  if (stats.isFile()) return 'f';
  if (stats.isDirectory()) return 'd';
  if (stats.isSymbolicLink()) return 'l';
  if (stats.isFIFO()) return 'p';
  if (stats.isSocket()) return 's';
  return stats.isCharacterDevice() ? `c${stats.rdev}` : `b${stats.rdev}`;
}

function addEntry(hash: Hash, root: string, host: string, stats: fs.Stats, options: TreeDigestOptions): void {
  const rel = relativeTo(root, host);
  let detail = '';
  if (stats.isFile()) detail = fileContentDigest(host);
  else if (stats.isSymbolicLink()) detail = fs.readlinkSync(host);
  // Ignored entries are left out, but an ignored directory is still searched: `!` rules can re-include files.
  if (rel === '' || !options.isIgnored?.(rel)) hash.update(`${rel}\0${typeOf(stats)}\0${(stats.mode & 0o7777).toString(8)}\0${detail}\n`);
  if (!stats.isDirectory()) return;
  for (const name of fs.readdirSync(host).sort()) {
    const child = host === '/' ? `/${name}` : `${host}/${name}`;
    addEntry(hash, root, child, fs.lstatSync(child), options);
  }
}

/**
 * Digest of the trees at `hostPaths` (inside `root`; each followed if it is a symlink, as COPY follows its
 * sources). A path that does not exist counts as "missing", so the step runs and reports it.
 */
export function treeDigest(root: string, hostPaths: readonly string[], options: TreeDigestOptions = {}): string {
  const hash = createHash('sha256');
  for (const host of hostPaths) {
    let stats: fs.Stats;
    try {
      stats = fs.statSync(host);
    } catch {
      hash.update(`${relativeTo(root, host)}\0missing\n`);
      continue;
    }
    hash.update(`@${relativeTo(root, host)}\n`);
    addEntry(hash, root, host, stats, options);
  }
  return `sha256:${hash.digest('hex')}`;
}
