/**
 * A directory tree as layer entries: a synchronous lstat walk (never following symlinks), sorted in layer
 * order, files sharing an inode written once and then as tar hardlinks, xattrs where readable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KilnError } from '../../errors.ts';
import type { KnownLayer } from '../../image/layer.ts';
import { writeLayer, type LayerWriteOptions } from '../layer-writer.ts';
import { compareTarPaths, layerPath, type TarEntry } from '../tar-entry.ts';
import { readTreeXattrs, defaultXattrFilter } from './xattrs.ts';

export interface DirectoryEntriesOptions {
  /** Only these paths (relative to the directory) with their subtrees, plus their parent directories. */
  paths?: string[];
  /** Read xattrs (default true); a filter chooses which names to keep. */
  xattrs?: boolean | ((name: string) => boolean);
  /** A path of `paths` that does not exist is left out with its parents (default: an error). */
  skipMissing?: boolean;
}

function major(rdev: number): number {
  return ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >> 12) & ~0xff & 0xfffff);
}

/** One entry from an lstat result; undefined for sockets (which tar cannot hold). */
export function entryFromStat(rel: string, abs: string, st: fs.Stats): TarEntry | undefined {
  const base = { path: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
  if (st.isFile()) return { ...base, type: 'file', size: st.size, content: { path: abs } };
  if (st.isDirectory()) return { ...base, type: 'dir' };
  if (st.isSymbolicLink()) return { ...base, type: 'symlink', linkname: fs.readlinkSync(abs) };
  if (st.isCharacterDevice()) return { ...base, type: 'char', devmajor: major(st.rdev), devminor: minor(st.rdev) };
  if (st.isBlockDevice()) return { ...base, type: 'block', devmajor: major(st.rdev), devminor: minor(st.rdev) };
  if (st.isFIFO()) return { ...base, type: 'fifo' };
  return undefined;
}

interface Walked {
  entry: TarEntry;
  inode?: string;
  nlink: number;
}

function walk(root: string, rel: string, out: Walked[]): void {
  const abs = rel === '' ? root : path.join(root, rel);
  for (const name of fs.readdirSync(abs)) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const childAbs = path.join(abs, name);
    const st = fs.lstatSync(childAbs);
    const entry = entryFromStat(childRel, childAbs, st);
    if (!entry) continue;
    out.push({ entry, inode: st.isFile() ? `${st.dev}:${st.ino}` : undefined, nlink: st.nlink });
    if (st.isDirectory()) walk(root, childRel, out);
  }
}

function collect(root: string, paths: string[] | undefined, skipMissing: boolean): Walked[] {
  const out: Walked[] = [];
  if (paths === undefined) {
    walk(root, '', out);
    return out;
  }
  const seen = new Set<string>();
  const add = (rel: string, known?: fs.Stats): fs.Stats | undefined => {
    if (seen.has(rel)) return undefined;
    seen.add(rel);
    const abs = path.join(root, rel);
    const st = known ?? fs.lstatSync(abs);
    const entry = entryFromStat(rel, abs, st);
    if (entry) out.push({ entry, inode: st.isFile() ? `${st.dev}:${st.ino}` : undefined, nlink: st.nlink });
    return st;
  };
  for (const p of paths) {
    const rel = layerPath(p);
    if (rel === '') {
      walk(root, '', out);
      continue;
    }
    // Found already (a walk below a changed directory, or a parent): it is in, with its parents.
    if (seen.has(rel)) continue;
    let own: fs.Stats | undefined;
    if (skipMissing) {
      own = fs.lstatSync(path.join(root, rel), { throwIfNoEntry: false });
      if (own === undefined) continue;
    }
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) add(parts.slice(0, i).join('/'));
    let st: fs.Stats | undefined;
    try {
      st = add(rel, own);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new KilnError('LAYER_PATH_MISSING', `${rel} does not exist in ${root}`);
      }
      throw err;
    }
    if (st?.isDirectory()) {
      const sub: Walked[] = [];
      walk(root, rel, sub);
      for (const w of sub) if (!seen.has(w.entry.path)) {
        seen.add(w.entry.path);
        out.push(w);
      }
    }
  }
  return out;
}

/** The entries of a directory in layer order, hardlinks resolved, xattrs attached. */
export function directoryEntries(root: string, options: DirectoryEntriesOptions = {}): TarEntry[] {
  const walked = collect(root, options.paths, options.skipMissing ?? false);
  walked.sort((a, b) => compareTarPaths(a.entry.path, b.entry.path));
  const firstPath = new Map<string, string>();
  const entries: TarEntry[] = [];
  const xattrOption = options.xattrs ?? true;
  const xattrs = xattrOption === false
    ? new Map<string, Record<string, Buffer>>()
    : readTreeXattrs(root, typeof xattrOption === 'function' ? xattrOption : defaultXattrFilter);
  for (const w of walked) {
    let entry = w.entry;
    if (w.inode !== undefined && w.nlink > 1) {
      const first = firstPath.get(w.inode);
      if (first === undefined) firstPath.set(w.inode, entry.path);
      else entry = { path: entry.path, type: 'hardlink', linkname: first, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime };
    }
    const attrs = xattrs.get(entry.path);
    if (attrs) entry = { ...entry, xattrs: attrs };
    entries.push(entry);
  }
  return entries;
}

/** Writes a directory (or some of its paths) as a layer. */
export function layerFromDirectory(
  root: string,
  options: LayerWriteOptions & DirectoryEntriesOptions,
): Promise<KnownLayer> {
  return writeLayer(directoryEntries(root, options), options);
}
