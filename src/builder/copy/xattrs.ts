/**
 * Extended attributes of copied entries. fsutil copies every xattr of each entry it writes metadata for and
 * only logs failures; Node has no xattr API, so the attributes are read through fs/xattrs (the xattr server,
 * else getfattr) and written back with the layer extractor's writer (`setfattr --restore`, or `setcap` for file
 * capabilities). SELinux labels of the host are left out: they describe the build machine, not the image.
 */
import { findXattrTools, writeXattrs, type XattrWrite } from '../../fs/extract/xattr-writer.ts';
import { keptXattrs, readXattrsOfPaths } from '../../fs/xattrs/read.ts';

export interface XattrCopy {
  src: string;
  dst: string;
  isSymlink: boolean;
}

/** Every xattr but the host's SELinux label. */
const copied = (name: string): boolean => name !== 'security.selinux';

/** Copies the xattrs of each `src` onto its `dst`; returns how many were written. Failures are only warned about. */
export function copyXattrs(entries: readonly XattrCopy[], warn: (message: string) => void): number {
  if (entries.length === 0) return 0;
  const found = readXattrsOfPaths(entries.map((e) => e.src));
  const writes: XattrWrite[] = [];
  entries.forEach((entry, i) => {
    for (const [name, value] of Object.entries(keptXattrs(found[i], copied) ?? {})) {
      writes.push({ path: entry.dst, isSymlink: entry.isSymlink, name, value });
    }
  });
  if (writes.length === 0) return 0;
  try {
    return writeXattrs(writes, findXattrTools(), warn).written;
  } catch (err) {
    warn(`xattrs of copied files not restored: ${(err as Error).message}`);
    return 0;
  }
}
