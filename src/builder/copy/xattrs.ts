/**
 * Extended attributes of copied entries. fsutil copies every xattr of each entry it writes metadata for and
 * only logs failures; Node has no xattr API, so the attributes are read in batches with `getfattr` and
 * written back with the layer extractor's writer (`setfattr --restore`, or `setcap` for file capabilities).
 * SELinux labels of the host are left out: they describe the build machine, not the image. Without
 * getfattr nothing is copied.
 */
import { spawnSync } from 'node:child_process';
import { findExecutable, findXattrTools, writeXattrs, type XattrWrite } from '../../fs/extract/xattr-writer.ts';

export interface XattrCopy {
  src: string;
  dst: string;
  isSymlink: boolean;
}

const BATCH = 200;
const SKIPPED = new Set(['security.selinux']);

/** getfattr escapes unusual bytes in names as backslash + three octal digits. */
function unescapeDumpPath(text: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length + 0 && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(Number.parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else bytes.push(raw[i]);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parses `getfattr -d -e hex` output into path → [name, value] pairs. */
export function parseXattrDump(dump: string): Map<string, Array<[string, Buffer]>> {
  const out = new Map<string, Array<[string, Buffer]>>();
  let current: Array<[string, Buffer]> | undefined;
  for (const line of dump.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = [];
      out.set(unescapeDumpPath(line.slice('# file: '.length)), current);
    } else if (current !== undefined && line.includes('=')) {
      const at = line.indexOf('=');
      const value = line.slice(at + 1);
      current.push([line.slice(0, at), value.startsWith('0x') ? Buffer.from(value.slice(2), 'hex') : Buffer.from(value.replace(/^"|"$/g, ''))]);
    }
  }
  return out;
}

/** Copies the xattrs of each `src` onto its `dst`; returns how many were written. Failures are only warned about. */
export function copyXattrs(entries: readonly XattrCopy[], warn: (message: string) => void): number {
  if (entries.length === 0) return 0;
  const getfattr = findExecutable('getfattr');
  if (getfattr === undefined) return 0;
  const writes: XattrWrite[] = [];
  for (let start = 0; start < entries.length; start += BATCH) {
    const batch = entries.slice(start, start + BATCH);
    const result = spawnSync(getfattr, ['--absolute-names', '-h', '-d', '-m', '-', '-e', 'hex', '--', ...batch.map((e) => e.src)], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error !== undefined || typeof result.stdout !== 'string') continue;
    const found = parseXattrDump(result.stdout);
    for (const entry of batch) {
      for (const [name, value] of found.get(entry.src) ?? []) {
        if (!SKIPPED.has(name)) writes.push({ path: entry.dst, isSymlink: entry.isSymlink, name, value });
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
