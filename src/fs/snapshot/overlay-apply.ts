/**
 * Folding an overlay upper dir into its lower dir after a step, so the next step's lower is the stage rootfs
 * as the layer left it: whiteouts delete, an opaque directory replaces the lower one, everything else moves
 * over by rename (same filesystem: O(changed), hardlinks within the upper kept since inodes move) or by
 * copy when the upper dir is on another filesystem. Overlay xattrs are stripped from what moved; the upper
 * dir is left empty for the next step. Call it with the overlay unmounted.
 *
 * The same `exclude`/`ignorePaths` as for `overlayUpperEntries` keep mount stubs and ignored trees out of the
 * rootfs, so it stays equal to "previous rootfs + layer".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KilnError } from '../../errors.ts';
import { defaultXattrFilter, readTreeXattrs, type XattrMap } from '../layer/xattrs.ts';
import { findXattrTools, writeXattrs, type XattrWrite } from '../extract/xattr-writer.ts';
import { isOpaqueDir, isOverlayWhiteout } from './overlay.ts';
import { childPath, hostPath, isUnder, pathSet } from './paths.ts';
import { isOverlayXattr, removeXattrs } from './xattrs.ts';

export interface ApplyUpperOptions {
  exclude?: readonly string[];
  ignorePaths?: readonly string[];
  /** Reports xattrs that could not be written. */
  onWarning?: (message: string) => void;
}

export interface ApplyUpperStats {
  /** Upper entries renamed (or copied) into the lower dir: a moved directory counts once. */
  moved: number;
  /** Lower entries deleted by whiteouts or replaced. */
  removed: number;
  /** Entries copied because rename crossed filesystems. */
  copied: number;
}

interface ApplyState {
  upper: string;
  lower: string;
  exclude: Set<string>;
  ignore: Set<string>;
  xattrs: XattrMap;
  /** Directories merged into an existing lower directory: metadata and xattrs applied at the end. */
  mergedDirs: { rel: string; st: fs.Stats }[];
  /** Rel paths that now live in the lower dir and may carry overlay xattrs. */
  moved: string[];
  /** dev:ino of copied upper files → lower path, to keep hardlinks when copying across filesystems. */
  copiedInodes: Map<string, string>;
  stats: ApplyUpperStats;
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  return fs.lstatSync(p, { throwIfNoEntry: false }) ?? undefined;
}

function remove(s: ApplyState, abs: string): void {
  fs.rmSync(abs, { recursive: true, force: true });
  s.stats.removed += 1;
}

function copyMetadata(abs: string, st: fs.Stats): void {
  fs.lchownSync(abs, st.uid, st.gid);
  if (!st.isSymbolicLink()) fs.chmodSync(abs, st.mode & 0o7777);
  fs.lutimesSync(abs, st.atime, st.mtime);
}

/** Copies an upper entry (tree) to `to`, which does not exist: the fallback when rename gives EXDEV. */
function copyEntry(s: ApplyState, from: string, to: string): void {
  const st = fs.lstatSync(from);
  s.stats.copied += 1;
  if (isOverlayWhiteout(st)) return;
  if (st.isDirectory()) {
    fs.mkdirSync(to);
    for (const name of fs.readdirSync(from)) copyEntry(s, `${from}/${name}`, `${to}/${name}`);
  } else if (st.isFile()) {
    const key = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? s.copiedInodes.get(key) : undefined;
    if (first !== undefined) {
      fs.linkSync(first, to);
      return;
    }
    fs.copyFileSync(from, to);
    if (st.nlink > 1) s.copiedInodes.set(key, to);
  } else if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(from), to);
  } else if (st.isFIFO()) {
    throw new KilnError('SNAPSHOT_APPLY_FAILED', `cannot copy fifo ${from} across filesystems`, {
      hint: 'keep the overlay upper dir on the same filesystem as the rootfs',
    });
  } else {
    throw new KilnError('SNAPSHOT_APPLY_FAILED', `cannot copy special file ${from} across filesystems`, {
      hint: 'keep the overlay upper dir on the same filesystem as the rootfs',
    });
  }
  copyMetadata(to, st);
  const rel = path.relative(s.upper, from);
  const attrs = s.xattrs.get(rel);
  if (attrs !== undefined) writeEntryXattrs(to, st, attrs, () => {});
}

function move(s: ApplyState, rel: string): void {
  const from = hostPath(s.upper, rel);
  const to = hostPath(s.lower, rel);
  try {
    fs.renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyEntry(s, from, to);
  }
  s.stats.moved += 1;
  s.moved.push(rel);
  const st = fs.lstatSync(to);
  if (st.isDirectory()) dropWhiteouts(to);
}

/** Whiteouts left inside a moved directory mean nothing any more (their lower counterparts are gone). */
function dropWhiteouts(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const abs = `${dir}/${name}`;
    const st = fs.lstatSync(abs);
    if (isOverlayWhiteout(st)) fs.unlinkSync(abs);
    else if (st.isDirectory()) dropWhiteouts(abs);
  }
}

/** `rel` is a real directory in both upper and lower dirs. */
function mergeDir(s: ApplyState, rel: string): void {
  for (const name of fs.readdirSync(hostPath(s.upper, rel))) {
    const childRel = childPath(rel, name);
    if (isUnder(s.ignore, childRel)) continue;
    const st = fs.lstatSync(hostPath(s.upper, childRel));
    const lowerPath = hostPath(s.lower, childRel);
    const lowerSt = lstatOrUndefined(lowerPath);
    const excluded = s.exclude.has(childRel);
    if (isOverlayWhiteout(st)) {
      if (lowerSt !== undefined && !excluded) remove(s, lowerPath);
      continue;
    }
    if (st.isDirectory()) {
      const opaque = isOpaqueDir(s.xattrs.get(childRel));
      if (lowerSt?.isDirectory() && (!opaque || excluded)) {
        mergeDir(s, childRel);
        if (!excluded) s.mergedDirs.push({ rel: childRel, st });
        continue;
      }
      if (excluded) {
        // A mount-point directory: only what was written below it belongs in the rootfs.
        if (lowerSt !== undefined) continue;
        fs.mkdirSync(lowerPath);
        mergeDir(s, childRel);
        if (fs.readdirSync(lowerPath).length === 0) fs.rmdirSync(lowerPath);
        else s.mergedDirs.push({ rel: childRel, st });
        continue;
      }
    } else if (excluded) continue;
    if (lowerSt !== undefined) remove(s, lowerPath);
    move(s, childRel);
  }
}

function writeEntryXattrs(abs: string, st: fs.Stats, attrs: Record<string, Buffer>, warn: (m: string) => void): void {
  const writes: XattrWrite[] = Object.entries(attrs)
    .filter(([name]) => defaultXattrFilter(name))
    .map(([name, value]) => ({ path: abs, isSymlink: st.isSymbolicLink(), name, value }));
  writeXattrs(writes, findXattrTools(), warn);
}

/** Merges the upper dir into the lower dir and empties the upper dir. Cost: O(upper dir). */
export function applyUpperToLower(upper: string, lower: string, options: ApplyUpperOptions = {}): ApplyUpperStats {
  const s: ApplyState = {
    upper: path.resolve(upper),
    lower: path.resolve(lower),
    exclude: pathSet(options.exclude),
    ignore: pathSet(options.ignorePaths),
    xattrs: readTreeXattrs(path.resolve(upper), () => true),
    mergedDirs: [],
    moved: [],
    copiedInodes: new Map(),
    stats: { moved: 0, removed: 0, copied: 0 },
  };
  const warn = options.onWarning ?? (() => {});
  mergeDir(s, '');

  // Directory metadata last: moving entries in touched the directories' times.
  const writes: XattrWrite[] = [];
  for (const { rel, st } of s.mergedDirs) {
    const abs = hostPath(s.lower, rel);
    copyMetadata(abs, st);
    for (const [name, value] of Object.entries(s.xattrs.get(rel) ?? {})) {
      if (defaultXattrFilter(name)) writes.push({ path: abs, isSymlink: false, name, value });
    }
  }
  writeXattrs(writes, findXattrTools(), warn);

  const strip = new Map<string, string[]>();
  const movedRoots = pathSet(s.moved);
  for (const [rel, attrs] of s.xattrs) {
    if (rel === '' || !isUnder(movedRoots, rel)) continue;
    for (const name of Object.keys(attrs)) {
      if (!isOverlayXattr(name)) continue;
      const list = strip.get(name) ?? [];
      list.push(hostPath(s.lower, rel));
      strip.set(name, list);
    }
  }
  removeXattrs(strip);

  for (const name of fs.readdirSync(s.upper)) fs.rmSync(`${s.upper}/${name}`, { recursive: true, force: true });
  return s.stats;
}
