/**
 * The walk snapshotter, for isolation without overlay (chroot, none): walk the rootfs again after a step and
 * compare with the record taken before. Modes follow kaniko's `--snapshot-mode` (pkg/util/util.go hashers):
 * - `time`: a non-directory changed when its mtime (or its type) changed (kaniko's MtimeHasher);
 * - `redo`: mode bits and type, owner, size, mtime, inode, symlink target, device number (kaniko's RedoHasher
 *   plus inode and target: a file replaced by rename keeps mtime and size but not its inode);
 * - `full`: `redo`, then for entries whose stat is unchanged: a changed ctime means compare xattrs (file
 *   capabilities change nothing else) and content; an unchanged ctime still compares the content hash of
 *   regular files (kaniko's full hasher hashes every file). Needs the before record taken with `content`.
 * In every mode directories are changes only when new, of another type, or (redo/full) of another mode or
 * owner (full: xattrs): a directory's mtime moves whenever a child is added or removed, and BuildKit's
 * differs ignore it too. Directories holding changes still appear, as their parents.
 *
 * Deleted paths get a whiteout only when their parent is still a directory: the children of a directory
 * replaced by a file need none (the new entry replaces the tree), and the children of a removed directory
 * are covered by its own whiteout. A directory deleted and re-created gets a whiteout per deleted child, as
 * BuildKit writes it (no opaque marker).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { XattrMap } from '../layer/xattrs.ts';
import { snapshotResult } from './change-set.ts';
import { hashFile } from './content.ts';
import { hostPath, parentOf } from './paths.ts';
import { emptySnapshot, isDirMode, isFileMode, record, walkTree, type FsSnapshot } from './stat-map.ts';
import type { SnapshotResult } from './types.ts';
import { readPathXattrs, sameXattrs } from './xattrs.ts';

export type SnapshotMode = 'full' | 'redo' | 'time';

export interface DiffOptions {
  mode: SnapshotMode;
}

export interface WalkSnapshotResult extends SnapshotResult {
  /** The record of the rootfs after the step: the `before` of the next step (with content in mode full). */
  snapshot: FsSnapshot;
}

const S_IFMT = fs.constants.S_IFMT;

/** Stat-level comparison of entry `i` of `a` with entry `j` of `b` (same path). */
function sameStat(mode: SnapshotMode, a: FsSnapshot, i: number, b: FsSnapshot, j: number): boolean {
  if ((a.mode[i] & S_IFMT) !== (b.mode[j] & S_IFMT)) return false;
  const dir = isDirMode(a.mode[i]);
  if (mode === 'time') return dir || a.mtimeMs[i] === b.mtimeMs[j];
  if (a.mode[i] !== b.mode[j] || a.uid[i] !== b.uid[j] || a.gid[i] !== b.gid[j]) return false;
  if (dir) return true;
  return a.mtimeMs[i] === b.mtimeMs[j] && a.size[i] === b.size[j] && a.ino[i] === b.ino[j]
    && a.rdev[i] === b.rdev[j] && a.link.get(i) === b.link.get(j);
}

/** Compares the rootfs now with `before` and turns the differences into layer entries. */
export function diffSnapshots(before: FsSnapshot, rootfsAfter: string, options: DiffOptions): WalkSnapshotResult {
  const after = emptySnapshot(path.resolve(rootfsAfter), before.ignore);
  const full = options.mode === 'full';
  if (full && (before.hashes === undefined || before.xattrs === undefined)) {
    throw new Error('diffSnapshots mode full needs a before snapshot taken with { content: true }');
  }
  const hashes = full ? new Map<number, string>() : undefined;
  const buffer = Buffer.allocUnsafe(1 << 20);
  const changed = new Set<string>();
  /** Stat-identical entries whose ctime moved (mode full): xattrs and content decide. */
  const ctimeMoved: number[] = [];

  walkTree(after.root, after.ignore, '', (rel, abs, st) => {
    const j = record(after, rel, abs, st);
    const i = before.index.get(rel);
    if (i === undefined || !sameStat(options.mode, before, i, after, j)) {
      changed.add(rel);
      if (hashes !== undefined && st.isFile()) hashes.set(j, hashFile(abs, buffer));
      return;
    }
    if (!full) return;
    if (before.ctimeMs[i] !== after.ctimeMs[j]) ctimeMoved.push(j);
    else if (st.isFile()) {
      const hash = hashFile(abs, buffer);
      hashes!.set(j, hash);
      const old = before.hashes?.get(i);
      if (old !== undefined && old !== hash) changed.add(rel);
    }
  });

  if (full) {
    // xattrs change only with the ctime: carry the rest over, read the moved ones and the new entries.
    const fresh = readPathXattrs(after.root, [...changed, ...ctimeMoved.map((j) => after.paths[j])]);
    const xattrs: XattrMap = new Map(fresh);
    const moved = new Set(ctimeMoved);
    for (let j = 0; j < after.paths.length; j++) {
      const rel = after.paths[j];
      if (fresh.has(rel) || changed.has(rel)) continue;
      const old = before.xattrs?.get(rel);
      if (old !== undefined && !moved.has(j)) xattrs.set(rel, old);
    }
    for (const j of ctimeMoved) {
      const rel = after.paths[j];
      const i = before.index.get(rel)!;
      let same = sameXattrs(before.xattrs?.get(rel), fresh.get(rel));
      if (isFileMode(after.mode[j])) {
        const hash = hashFile(hostPath(after.root, rel), buffer);
        hashes!.set(j, hash);
        same &&= before.hashes?.get(i) === hash;
      }
      if (!same) changed.add(rel);
    }
    after.hashes = hashes;
    after.xattrs = xattrs;
  }

  const deleted = new Set<string>();
  for (const rel of before.paths) {
    if (after.index.has(rel)) continue;
    const parent = parentOf(rel);
    const p = parent === '' ? -1 : after.index.get(parent);
    if (p === -1 || (p !== undefined && isDirMode(after.mode[p]))) deleted.add(rel);
  }

  const changedStats = new Map<string, fs.Stats>();
  for (const rel of changed) changedStats.set(rel, fs.lstatSync(hostPath(after.root, rel)));
  const known = after.xattrs;
  const result = snapshotResult({
    root: after.root,
    changed: changedStats,
    deleted,
    // Mode full already holds every entry's xattrs: no second getfattr pass.
    ...(known !== undefined ? { readXattrs: (_root: string, rels: readonly string[]) => new Map(rels.flatMap((rel) => (known.has(rel) ? [[rel, known.get(rel)!] as const] : []))) } : {}),
  });
  return { ...result, snapshot: after };
}
