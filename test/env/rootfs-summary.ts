/**
 * Summarize an unpacked root filesystem in the conformance corpus' `files` format (path → type, mode, uid,
 * gid, size, sha256, target, dev, link). Extended attributes are not read (Node has no API for them).
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export interface FileEntry {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
  dev?: string;
  link?: string;
  implicit?: boolean;
  xattrs?: Record<string, string>;
}

export type FileTree = Record<string, FileEntry>;

function sha256File(path: string): string {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function typeOf(stats: Stats): FileEntry['type'] {
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isDirectory()) return 'dir';
  if (stats.isFile()) return 'file';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  if (stats.isFIFO()) return 'fifo';
  return 'socket';
}

function deviceNumbers(rdev: number): string {
  const major = ((rdev >> 8) & 0xfff) | Math.floor(rdev / 2 ** 32) & ~0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  return `${major},${minor}`;
}

function entryFor(path: string, stats: Stats): FileEntry {
  const type = typeOf(stats);
  const entry: FileEntry = {
    type,
    mode: type === 'symlink' ? '0777' : (stats.mode & 0o7777).toString(8).padStart(4, '0'),
    uid: stats.uid,
    gid: stats.gid,
  };
  if (type === 'file') {
    entry.size = stats.size;
    entry.sha256 = sha256File(path);
  } else if (type === 'symlink') {
    entry.target = readlinkSync(path);
  } else if (type === 'char' || type === 'block') {
    entry.dev = deviceNumbers(stats.rdev);
  }
  return entry;
}

/** Walk `rootfs` (not following symlinks) into a tree keyed by absolute in-image paths; the root is not listed. */
export function summarizeRootfs(rootfs: string): FileTree {
  const tree: FileTree = {};
  const hardlinks = new Map<string, string[]>();
  const walk = (hostDir: string, imageDir: string) => {
    const names = readdirSync(hostDir).sort();
    for (const name of names) {
      const hostPath = join(hostDir, name);
      const imagePath = `${imageDir}/${name}`;
      const stats = lstatSync(hostPath);
      tree[imagePath] = entryFor(hostPath, stats);
      if (stats.isFile() && stats.nlink > 1) {
        const key = `${stats.dev}:${stats.ino}`;
        hardlinks.set(key, [...(hardlinks.get(key) ?? []), imagePath]);
      }
      if (stats.isDirectory()) walk(hostPath, imagePath);
    }
  };
  walk(rootfs, '');
  for (const group of hardlinks.values()) {
    if (group.length < 2) continue;
    const first = [...group].sort()[0];
    for (const path of group) tree[path].link = first;
  }
  return tree;
}

const comparedFields = ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'target', 'dev', 'link', 'xattrs'] as const;

/** One line per difference between two trees (`implicit` is informational and not compared). */
export function compareTrees(expected: FileTree, actual: FileTree): string[] {
  const differences: string[] = [];
  for (const path of Object.keys(expected).sort()) {
    const want = expected[path];
    const got = actual[path];
    if (got === undefined) { differences.push(`missing ${path}`); continue; }
    for (const field of comparedFields) {
      const a = JSON.stringify(want[field]);
      const b = JSON.stringify(got[field]);
      if (a !== b) differences.push(`${path}: ${field} ${a ?? 'absent'} != ${b ?? 'absent'}`);
    }
  }
  for (const path of Object.keys(actual).sort()) {
    if (expected[path] === undefined) differences.push(`unexpected ${path}`);
  }
  return differences;
}
