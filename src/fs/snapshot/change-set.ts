/**
 * Turning a set of changes into layer entries, the one place both snapshotters share, so that the same change
 * gives the same layer whichever found it. Like containerd's ChangeWriter: parent directories of every change
 * are included with their current metadata; files sharing an inode among the emitted entries become one file
 * and tar hardlinks to it (a link to an unchanged file outside the layer stays a plain file, as BuildKit writes it).
 */
import * as fs from 'node:fs';
import { KilnError } from '../../errors.ts';
import { entryFromStat } from '../layer/directory-entries.ts';
import type { XattrMap } from '../layer/xattrs.ts';
import { compareTarPaths, whiteoutEntry, type TarEntry } from '../tar-entry.ts';
import { hostPath, parentOf } from './paths.ts';
import type { SnapshotResult } from './types.ts';
import { readPathXattrs } from './xattrs.ts';

export interface ChangeSet {
  /** Where the current content and metadata of changed entries live: the rootfs, or the overlay upper dir. */
  root: string;
  /** Added or modified entries: layer path → lstat of it under `root`. */
  changed: Map<string, fs.Stats>;
  /** Deleted paths written as whiteouts: only the topmost path of a deleted tree, whose parent is a directory. */
  deleted: Set<string>;
  /** Reads layer xattrs of these paths under `root` (default: getfattr, overlay and SELinux names dropped). */
  readXattrs?: (root: string, rels: readonly string[]) => XattrMap;
}

function hardlinkKey(st: fs.Stats): string | undefined {
  return st.isFile() && st.nlink > 1 ? `${st.dev}:${st.ino}` : undefined;
}

export function snapshotResult(cs: ChangeSet): SnapshotResult {
  const stats = new Map(cs.changed);
  const addParents = (rel: string): void => {
    for (let p = parentOf(rel); p !== '' && !stats.has(p); p = parentOf(p)) {
      const st = fs.lstatSync(hostPath(cs.root, p));
      if (!st.isDirectory()) {
        throw new KilnError('SNAPSHOT_INCONSISTENT', `/${p} is a parent of a change but not a directory in ${cs.root}`, {
          hint: 'something else changed the build filesystem while it was being snapshotted',
        });
      }
      stats.set(p, st);
    }
  };
  for (const rel of cs.changed.keys()) addParents(rel);
  for (const rel of cs.deleted) addParents(rel);

  const rels = [...stats.keys()].sort(compareTarPaths);
  const xattrs = (cs.readXattrs ?? readPathXattrs)(cs.root, rels);
  const firstPath = new Map<string, string>();
  const entries: TarEntry[] = [];
  for (const rel of rels) {
    const st = stats.get(rel)!;
    const abs = hostPath(cs.root, rel);
    let entry = entryFromStat(rel, abs, st);
    if (entry === undefined) continue;
    const key = hardlinkKey(st);
    if (key !== undefined) {
      const first = firstPath.get(key);
      if (first === undefined) firstPath.set(key, rel);
      else entry = { path: rel, type: 'hardlink', linkname: first, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime };
    }
    const attrs = xattrs.get(rel);
    if (attrs !== undefined) entry.xattrs = attrs;
    entries.push(entry);
  }
  if (cs.deleted.size === 0) {
    // Already in layer order (rels), as are the changed paths among them.
    return { entries, changedPaths: rels.filter((rel) => cs.changed.has(rel)) };
  }
  for (const rel of cs.deleted) entries.push(whiteoutEntry(rel));
  entries.sort((a, b) => compareTarPaths(a.path, b.path));
  const changedPaths = [...new Set([...cs.changed.keys(), ...cs.deleted])].sort(compareTarPaths);
  return { entries, changedPaths };
}
