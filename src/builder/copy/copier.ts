/**
 * Copies one resolved source (a file, link, device or whole tree) onto its destination the way fsutil's
 * copier does for BuildKit (`cp -a` semantics):
 * - a directory's contents are merged into an existing directory; the top-level destination keeps its
 *   metadata, nested directories that already exist get the source's mode, owner and times;
 * - a non-directory replaces whatever non-directory is at the target; replacing a directory is an error;
 * - symlinks inside the tree are copied as links; hard links within one source stay hard links;
 * - owner: --chown, else the source's (context files read as 0:0); mode: the source's, or --chmod;
 *   times: the source's, or SOURCE_DATE_EPOCH; xattrs are collected for xattrs.ts to copy afterwards;
 * - --exclude patterns and the --parents include pattern are matched against paths below the source; a
 *   directory that is not itself included is created only when something below it is.
 * Targets below the resolved top-level destination are never symlinks when written through: directories
 * are checked with lstat and other entries are removed before they are created.
 */
import {
  copyFileSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  chmodSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  unlinkSync,
  type BigIntStats,
} from 'node:fs';
import { KilnError } from '../../errors.ts';
import { createSpecialFile } from '../../fs/extract/special-files.ts';
import type { ChmodSpec, ModeSet } from './chmod.ts';
import { modeWithChmod } from './chmod.ts';
import type { Owner } from './chown.ts';
import type { ParentMatches, PatternMatcher } from '../../fs/patterns/pattern-matcher.ts';
import type { XattrCopy } from './xattrs.ts';

export interface CopierOptions {
  chown?: Owner;
  chmod?: ChmodSpec;
  compiledChmod?: ModeSet;
  /** 'root': sources read as owned by 0:0 (a build context); 'preserve': keep the source uid/gid. */
  ownership: 'root' | 'preserve';
  /** Seconds since the epoch given to every copied entry. */
  time?: number;
  include?: PatternMatcher;
  exclude?: PatternMatcher;
  /** Host paths of the source to treat as absent (.dockerignore), tested with the path relative to srcRoot. */
  isIgnored?: (hostPath: string) => boolean;
  /** Receives every host path created or changed. */
  onChange: (hostPath: string) => void;
}

interface PendingDir {
  src: string;
  dst: string;
  copied: boolean;
}

const MKNOD = 'mknod';

export class TreeCopier {
  readonly #options: CopierOptions;
  /** Source inode → first target written for it, to recreate hard links. */
  readonly #inodes = new Map<bigint, string>();
  /** Source directories whose creation waits for an included descendant. */
  readonly #pending: PendingDir[] = [];
  /** Entries whose xattrs are to be copied once the tree is written. */
  readonly xattrCopies: XattrCopy[] = [];

  constructor(options: CopierOptions) {
    this.#options = options;
  }

  /** Copies `src` (already resolved) to `target` (already resolved; parents exist). */
  copyTop(src: string, target: string): void {
    this.#copy(src, '', target, false, [], [], false);
  }

  /** `targetAbsent`: the target's directory was just created by this copy, so nothing is there to look up. */
  #copy(
    src: string, rel: string, target: string, overwriteMetadata: boolean, parentInclude: ParentMatches, parentExclude: ParentMatches,
    targetAbsent: boolean,
  ): void {
    const stats = lstatSync(src, { bigint: true });
    const isDir = stats.isDirectory();
    let include = true;
    let includeParents: ParentMatches = [];
    let excludeParents: ParentMatches = [];
    if (rel !== '') {
      if (this.#options.include !== undefined) {
        const outcome = this.#options.include.match(rel, parentInclude);
        include = outcome.matched;
        includeParents = outcome.parents;
      }
      if (this.#options.exclude !== undefined) {
        const outcome = this.#options.exclude.match(rel, parentExclude);
        excludeParents = outcome.parents;
        if (outcome.matched) {
          include = false;
          // Without negated patterns nothing below an excluded directory can come back.
          if (!this.#options.exclude.hasExclusions) return;
        }
      }
    }
    const targetBefore = targetAbsent ? undefined : lstatOrUndefined(target);
    if (include) this.#createPendingDirs(overwriteMetadata);
    if (!isDir) {
      if (!include) return;
      ensureReplaceableTarget(target, targetBefore);
    }

    let copyInfo = include;
    let restoreTimes = false;
    if (isDir) {
      const created = this.#copyDirectory(src, rel, target, stats, targetBefore, overwriteMetadata, include, includeParents, excludeParents);
      if (!overwriteMetadata) {
        copyInfo = created;
        restoreTimes = !created;
      }
    } else if (stats.isFile()) {
      const firstTarget = stats.nlink > 1n ? this.#inodes.get(stats.ino) : undefined;
      if (firstTarget !== undefined) linkSync(firstTarget, target);
      else {
        if (stats.nlink > 1n) this.#inodes.set(stats.ino, target);
        copyFileSync(src, target);
      }
    } else if (stats.isSymbolicLink()) {
      symlinkSync(readlinkSync(src), target);
    } else if (stats.isCharacterDevice() || stats.isBlockDevice() || stats.isFIFO()) {
      const type = stats.isFIFO() ? 'fifo' : stats.isBlockDevice() ? 'block-device' : 'character-device';
      const rdev = Number(stats.rdev);
      const outcome = createSpecialFile(target, { type, mode: Number(stats.mode) & 0o7777, devmajor: major(rdev), devminor: minor(rdev) }, MKNOD);
      if (!outcome.created) throw new KilnError('COPY_FAILED', `failed to create device ${target}: ${outcome.reason}`);
    } else {
      // Sockets: fsutil creates them with mknod too; a copied socket is useless, so say so instead.
      throw new KilnError('COPY_FAILED', `cannot copy ${src}: unsupported file type (socket)`);
    }

    if (copyInfo) {
      this.#copyFileInfo(stats, target);
      this.xattrCopies.push({ src, dst: target, isSymlink: stats.isSymbolicLink() });
      this.#options.onChange(target);
    } else if (restoreTimes && targetBefore !== undefined) {
      // Writing into the directory moved its times; put back what it had (or the fixed time).
      const time = this.#options.time;
      lutimesSync(target, time ?? nsToSeconds(targetBefore.atimeNs), time ?? nsToSeconds(targetBefore.mtimeNs));
    }
  }

  #copyDirectory(
    src: string,
    rel: string,
    target: string,
    stats: BigIntStats,
    existing: BigIntStats | undefined,
    overwriteMetadata: boolean,
    include: boolean,
    includeParents: ParentMatches,
    excludeParents: ParentMatches,
  ): boolean {
    let created = false;
    const pending: PendingDir = { src, dst: target, copied: false };
    if (include) {
      created = copyDirectoryOnly(target, existing, Number(stats.mode), overwriteMetadata);
      if (created || overwriteMetadata) this.#options.onChange(target);
      pending.copied = true;
    }
    this.#pending.push(pending);
    try {
      for (const name of readdirSync(src).sort()) {
        const childSrc = `${src}/${name}`;
        if (this.#options.isIgnored?.(childSrc)) continue;
        this.#copy(childSrc, rel === '' ? name : `${rel}/${name}`, `${target}/${name}`, true, includeParents, excludeParents, created);
      }
    } finally {
      this.#pending.pop();
    }
    return created;
  }

  /** Creates, outermost first, the directories whose creation waited for an included descendant. */
  #createPendingDirs(overwriteMetadata: boolean): void {
    for (const dir of this.#pending) {
      if (dir.copied) continue;
      const stats = statSync(dir.src, { bigint: true });
      const created = copyDirectoryOnly(dir.dst, lstatOrUndefined(dir.dst), Number(stats.mode), overwriteMetadata);
      if (created) {
        this.#copyFileInfo(stats, dir.dst);
        this.xattrCopies.push({ src: dir.src, dst: dir.dst, isSymlink: false });
      }
      if (created || overwriteMetadata) this.#options.onChange(dir.dst);
      dir.copied = true;
    }
  }

  #copyFileInfo(stats: BigIntStats, target: string): void {
    const options = this.#options;
    const preserve = options.ownership === 'preserve';
    const uid = options.chown?.uid ?? (preserve ? Number(stats.uid) : 0);
    const gid = options.chown?.gid ?? (preserve ? Number(stats.gid) : 0);
    lchownSync(target, uid, gid);
    if (!stats.isSymbolicLink()) {
      // After the chown: changing the owner clears setuid/setgid, the chmod puts them back.
      chmodSync(target, modeWithChmod(Number(stats.mode), options.chmod, options.compiledChmod, stats.isDirectory()));
    }
    if (options.time !== undefined) lutimesSync(target, options.time, options.time);
    else lutimesSync(target, nsToSeconds(stats.atimeNs), nsToSeconds(stats.mtimeNs));
  }
}

/** Makes the target directory (mode of the source) unless it exists (`existing`, as lstat found it); true when it was created. */
function copyDirectoryOnly(target: string, existing: BigIntStats | undefined, sourceMode: number, overwriteMetadata: boolean): boolean {
  if (existing === undefined) {
    mkdirSync(target, { mode: 0o700 });
    return true;
  }
  if (!existing.isDirectory()) throw new KilnError('COPY_FAILED', `cannot copy to non-directory: ${target}`);
  if (overwriteMetadata) chmodSync(target, sourceMode & 0o7777);
  return false;
}

function ensureReplaceableTarget(target: string, existing: BigIntStats | undefined): void {
  if (existing === undefined) return;
  if (existing.isDirectory()) throw new KilnError('COPY_FAILED', `cannot replace to directory ${target} with file`);
  unlinkSync(target);
}

function lstatOrUndefined(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

function nsToSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}

/** glibc's gnu_dev_major/minor. */
function major(dev: number): number {
  return ((dev >>> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
}

function minor(dev: number): number {
  return (dev & 0xff) | ((dev >>> 12) & ~0xff & 0xfffff);
}
