/**
 * kaniko's DeleteFilesystem: empties a root for the next stage's base image, or at the end with --cleanup.
 * Ignored paths stay; directories holding ignored paths that exist stay (only their other children go):
 * unlike kaniko, /etc goes when /etc/mtab (always on the list) does not exist. As a second
 * fence besides the mount points in the ignore list, nothing on another device than the root is entered or
 * removed. Never follows symlinks.
 */
import fs from 'node:fs';
import { inRootPath } from '../../fs/extract/protected-paths.ts';
import type { IgnoreList } from './ignore-list.ts';

export interface DeleteStats {
  removed: number;
  kept: number;
}

function hostChild(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** Removes a tree bottom-up, not entering directories of another device (a mount missing from the list). */
function removeTree(host: string, st: fs.Stats, rootDev: number, stats: DeleteStats): void {
  if (st.isDirectory()) {
    if (st.dev !== rootDev) {
      stats.kept += 1;
      return;
    }
    for (const name of fs.readdirSync(host)) {
      const child = hostChild(host, name);
      const cst = fs.lstatSync(child, { throwIfNoEntry: false });
      if (cst !== undefined) removeTree(child, cst, rootDev, stats);
    }
    try {
      fs.rmdirSync(host);
      stats.removed += 1;
    } catch (err) {
      // Something below was kept (another device): the directory stays too.
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
      stats.kept += 1;
    }
    return;
  }
  fs.unlinkSync(host);
  stats.removed += 1;
}

function deleteChildren(root: string, dir: string, ignore: IgnoreList, rootDev: number, stats: DeleteStats): void {
  for (const name of fs.readdirSync(dir)) {
    const host = hostChild(dir, name);
    const inRoot = inRootPath(root, host);
    if (ignore.isProtected(inRoot)) {
      stats.kept += 1;
      continue;
    }
    const st = fs.lstatSync(host, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (ignore.below(inRoot).some((q) => fs.lstatSync(hostChild(root, q.slice(1)), { throwIfNoEntry: false }) !== undefined)) {
      if (st.isDirectory() && st.dev === rootDev) deleteChildren(root, host, ignore, rootDev, stats);
      else stats.kept += 1;
      continue;
    }
    removeTree(host, st, rootDev, stats);
  }
}

/** Removes everything under `root` (the build's `/`) that the ignore list does not keep. */
export function deleteFilesystem(root: string, ignore: IgnoreList): DeleteStats {
  const stats: DeleteStats = { removed: 0, kept: 0 };
  deleteChildren(root, root, ignore, fs.lstatSync(root).dev, stats);
  return stats;
}
