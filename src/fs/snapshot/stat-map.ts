/**
 * A compact record of a root filesystem for the walk snapshotter: one synchronous lstat walk (symlinks never
 * followed, ignored paths never entered), kept as columns of numbers indexed by path rather than one object
 * per file. mtime/ctime are kept as Node's float milliseconds (sub-microsecond resolution at today's dates;
 * the kernel's coarse timestamps step by milliseconds). With `content`, regular files also get a sha256 and
 * every entry its xattrs: what mode `full` compares when the stat is unchanged.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { XattrMap } from '../layer/xattrs.ts';
import { hashFile } from './content.ts';
import { childPath, hostPath, pathSet } from './paths.ts';
import { readPathXattrs } from './xattrs.ts';

export interface FsSnapshot {
  /** Absolute host path of the root filesystem. */
  readonly root: string;
  /** Layer-form paths never walked. */
  readonly ignore: ReadonlySet<string>;
  readonly paths: string[];
  readonly index: Map<string, number>;
  /** st_mode (type and permission bits). */
  readonly mode: number[];
  readonly uid: number[];
  readonly gid: number[];
  readonly size: number[];
  readonly mtimeMs: number[];
  readonly ctimeMs: number[];
  readonly ino: number[];
  readonly rdev: number[];
  /** Symlink targets by index. */
  readonly link: Map<number, string>;
  /** sha256 of regular files by index, when taken with `content`. */
  readonly hashes?: Map<number, string>;
  /** xattrs by path, when taken with `content`. */
  readonly xattrs?: XattrMap;
}

export interface TakeSnapshotOptions {
  /** Paths (as seen inside the rootfs) whose subtrees are never walked: /proc, /sys, /dev, mounts, Kiln's dirs. */
  ignorePaths?: readonly string[];
  /** Also record content hashes and xattrs (needed by diff mode `full`). */
  content?: boolean;
}

export type MutableSnapshot = { -readonly [K in keyof FsSnapshot]: FsSnapshot[K] };

export function emptySnapshot(root: string, ignore: ReadonlySet<string>): MutableSnapshot {
  return {
    root, ignore, paths: [], index: new Map(), mode: [], uid: [], gid: [], size: [], mtimeMs: [], ctimeMs: [],
    ino: [], rdev: [], link: new Map(),
  };
}

export function record(s: MutableSnapshot, rel: string, abs: string, st: fs.Stats): number {
  const i = s.paths.length;
  s.paths.push(rel);
  s.index.set(rel, i);
  s.mode.push(st.mode);
  s.uid.push(st.uid);
  s.gid.push(st.gid);
  s.size.push(st.isDirectory() ? 0 : st.size);
  s.mtimeMs.push(st.mtimeMs);
  s.ctimeMs.push(st.ctimeMs);
  s.ino.push(st.ino);
  s.rdev.push(st.rdev);
  if (st.isSymbolicLink()) s.link.set(i, fs.readlinkSync(abs));
  return i;
}

const NO_THROW = { throwIfNoEntry: false } as const;

/** Depth-first lstat walk below `rel`; `visit` sees every entry (a vanished entry is skipped). */
export function walkTree(
  root: string,
  ignore: ReadonlySet<string>,
  rel: string,
  visit: (rel: string, abs: string, st: fs.Stats) => void,
): void {
  let names: string[];
  try {
    names = fs.readdirSync(hostPath(root, rel));
  } catch (err) {
    // Removed between its lstat and here: the diff sees it as gone.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw err;
  }
  for (const name of names) {
    const childRel = childPath(rel, name);
    if (ignore.has(childRel)) continue;
    const abs = hostPath(root, childRel);
    const st = fs.lstatSync(abs, NO_THROW);
    if (st === undefined) continue;
    visit(childRel, abs, st);
    if (st.isDirectory()) walkTree(root, ignore, childRel, visit);
  }
}

export function isDirMode(mode: number): boolean {
  return (mode & fs.constants.S_IFMT) === fs.constants.S_IFDIR;
}

export function isFileMode(mode: number): boolean {
  return (mode & fs.constants.S_IFMT) === fs.constants.S_IFREG;
}

/** Records the root filesystem before a step. */
export function takeSnapshot(rootfs: string, options: TakeSnapshotOptions = {}): FsSnapshot {
  const s = emptySnapshot(path.resolve(rootfs), pathSet(options.ignorePaths));
  const hashes = options.content ? new Map<number, string>() : undefined;
  const buffer = Buffer.allocUnsafe(1 << 20);
  walkTree(s.root, s.ignore, '', (rel, abs, st) => {
    const i = record(s, rel, abs, st);
    if (hashes !== undefined && st.isFile()) hashes.set(i, hashFile(abs, buffer));
  });
  if (options.content) {
    s.hashes = hashes;
    s.xattrs = readPathXattrs(s.root, s.paths);
  }
  return s;
}
