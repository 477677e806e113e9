/**
 * Extended attributes of copied entries. fsutil copies every xattr of each entry it writes metadata for and
 * only logs failures; Node has no xattr API, so the attributes are read in batches with `getfattr` and
 * written back with the layer extractor's writer (`setfattr --restore`, or `setcap` for file capabilities).
 * SELinux labels of the host are left out: they describe the build machine, not the image. Without
 * getfattr nothing is copied.
 */
import { spawnSync } from 'node:child_process';
import { findTool, findXattrTools, writeXattrs, type XattrWrite } from '../../fs/extract/xattr-writer.ts';
import { parseGetfattr } from '../../fs/layer/xattrs.ts';

export interface XattrCopy {
  src: string;
  dst: string;
  isSymlink: boolean;
}

const BATCH = 200;
/** Every xattr but the host's SELinux label. */
const copied = (name: string): boolean => name !== 'security.selinux';

/** Copies the xattrs of each `src` onto its `dst`; returns how many were written. Failures are only warned about. */
export function copyXattrs(entries: readonly XattrCopy[], warn: (message: string) => void): number {
  if (entries.length === 0) return 0;
  const getfattrCommand = findTool('getfattr');
  if (getfattrCommand === undefined) return 0;
  const [getfattr, ...prefix] = getfattrCommand;
  const writes: XattrWrite[] = [];
  for (let start = 0; start < entries.length; start += BATCH) {
    const batch = entries.slice(start, start + BATCH);
    const result = spawnSync(getfattr, [...prefix, '--absolute-names', '-h', '-d', '-m', '-', '-e', 'base64', '--', ...batch.map((e) => e.src)], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error !== undefined || typeof result.stdout !== 'string') continue;
    const found = parseGetfattr(result.stdout, copied);
    for (const entry of batch) {
      for (const [name, value] of Object.entries(found.get(entry.src) ?? {})) {
        writes.push({ path: entry.dst, isSymlink: entry.isSymlink, name, value });
      }
    }
  }
  if (writes.length === 0) return 0;
  try {
    return writeXattrs(writes, findXattrTools(), warn).written;
  } catch (err) {
    warn(`xattrs of copied files not restored: ${(err as Error).message}`);
    return 0;
  }
}
