/**
 * Extended attributes of a tree (read through fs/xattrs: the xattr server, else getfattr). Overlay bookkeeping
 * and SELinux labels of the host are never layer content.
 */
import * as path from 'node:path';
import { keptXattrs, readXattrsOfTreeLater } from '../xattrs/read.ts';

export type XattrMap = Map<string, Record<string, Buffer>>;

export function defaultXattrFilter(name: string): boolean {
  return !name.startsWith('trusted.overlay.') && !name.startsWith('user.overlay.') && name !== 'security.selinux';
}

/** Keeps the attributes `filter` accepts; entries left without any are dropped. */
export function filterXattrMap(raw: ReadonlyMap<string, Record<string, Buffer>>, filter: (name: string) => boolean): XattrMap {
  const out: XattrMap = new Map();
  for (const [rel, attrs] of raw) {
    const kept = keptXattrs(attrs, filter);
    if (kept !== undefined) out.set(rel, kept);
  }
  return out;
}

/** xattrs of every entry under `root` (not following symlinks), keyed by path relative to root. */
export function readTreeXattrs(root: string, filter: (name: string) => boolean = defaultXattrFilter): XattrMap {
  return readTreeXattrsLater(root, filter)();
}

/** readTreeXattrs begun now, its map returned by the function (see readXattrsOfTreeLater for the rule). */
export function readTreeXattrsLater(root: string, filter: (name: string) => boolean = defaultXattrFilter): () => XattrMap {
  const raw = readXattrsOfTreeLater(path.resolve(root));
  return () => filterXattrMap(raw(), filter);
}
