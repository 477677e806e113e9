/**
 * Snapshot of a RUN step that wrote through overlayfs (lowerdir = the stage rootfs, upperdir = U): the upper
 * dir *is* the diff, so the cost follows the change, not the rootfs. Read the way BuildKit's overlay differ
 * reads it (util/overlay Changes), so layers match what BuildKit and the walk snapshotter produce:
 * - a char 0/0 device is a deletion → `.wh.<name>` (skipped when the lower dir never had the path);
 * - an opaque directory (`trusted.overlay.opaque=y`, `user.overlay.opaque=y` with userxattr) over a lower
 *   directory is compared with it child by child: each lower child gone gets its own whiteout (BuildKit writes
 *   no `.wh..wh..opq`);
 * - a copied-up entry identical to the lower one (metadata, xattrs, content) is not a change: the overlay copies
 *   up on chown to the same owner, open for writing, a new hardlink to the file;
 * - a copied-up directory is a change only when its mode, owner or xattrs differ; it still appears as the parent
 *   of changes below it, with its upper metadata;
 * - overlay xattrs never reach the layer; whiteout devices sharing one inode are never tar hardlinks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KilnError } from '../../errors.ts';
import { defaultXattrFilter, readTreeXattrs, readTreeXattrsLater, type XattrMap } from '../layer/xattrs.ts';
import { snapshotResult } from './change-set.ts';
import { sameContent } from './content.ts';
import { directoryLower, type LowerView } from './lower-view.ts';
import { childPath, hostPath, isUnder, pathSet } from './paths.ts';
import type { SnapshotResult } from './types.ts';
import { sameXattrs } from './xattrs.ts';

export interface OverlayUpperOptions {
  /**
   * The overlay's lower side as it was before the step: the stage rootfs directory, or the merged view of a
   * stack of layer directories.
   */
  lower: string | LowerView;
  /**
   * Paths the sandbox created only as mount points (e.g. /etc/resolv.conf): the path itself is never an entry
   * or a whiteout, but real changes below an excluded directory are kept.
   */
  exclude?: readonly string[];
  /** Paths whose whole subtree never appears (Kiln's own dirs, /proc, /sys, /dev, other mounts). */
  ignorePaths?: readonly string[];
}

/** A char 0/0 device: overlayfs's deletion marker. */
export function isOverlayWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

const OPAQUE = ['trusted.overlay.opaque', 'user.overlay.opaque'];
const UNSUPPORTED = ['redirect', 'metacopy'];

export function isOpaqueDir(attrs: Record<string, Buffer> | undefined): boolean {
  return OPAQUE.some((name) => attrs?.[name]?.toString() === 'y');
}

function checkSupported(rel: string, attrs: Record<string, Buffer> | undefined): void {
  for (const name of Object.keys(attrs ?? {})) {
    const feature = UNSUPPORTED.find((f) => name === `trusted.overlay.${f}` || name === `user.overlay.${f}`);
    if (feature !== undefined) {
      throw new KilnError('SNAPSHOT_OVERLAY_UNSUPPORTED', `overlay upper dir uses ${feature} (at /${rel}), which the overlay snapshot cannot read`, {
        hint: `mount the overlay with ${feature === 'redirect' ? 'redirect_dir=off' : 'metacopy=off'}`,
      });
    }
  }
}

/** Metadata the same as the lower entry's (content, xattrs and symlink targets are checked later). */
function sameMetadata(lower: fs.Stats, upper: fs.Stats): boolean {
  if (lower.mode !== upper.mode || lower.uid !== upper.uid || lower.gid !== upper.gid || lower.rdev !== upper.rdev) return false;
  if (upper.isDirectory()) return true;
  return lower.size === upper.size && lower.mtimeMs === upper.mtimeMs;
}

interface OverlayWalk {
  upper: string;
  lower: LowerView;
  exclude: Set<string>;
  ignore: Set<string>;
  changed: Map<string, fs.Stats>;
  deleted: Set<string>;
  /** Upper entries whose metadata equals the lower entry's: decided after reading lower xattrs. */
  candidates: Map<string, fs.Stats>;
  /**
   * Upper directories over a lower directory (the root aside), parents before children, with the names they
   * hold (whiteouts left out): which are opaque is known once the upper dir's xattrs are in (settleOpaqueDirs).
   */
  overLowerDirs: Array<{ rel: string; names: Set<string> }>;
  whiteouts: Set<string>;
}

/**
 * Walks one upper directory with lstat alone (the xattr server reads the tree's xattrs meanwhile).
 * `lowerDir` is true when the same path in the lower dir is a real directory (never a symlink), so lower
 * lookups below it stay inside the lower dir.
 */
function walkUpper(w: OverlayWalk, rel: string, lowerDir: boolean): void {
  const names = fs.readdirSync(hostPath(w.upper, rel));
  const upperNames = new Set(names);
  if (lowerDir && rel !== '') w.overLowerDirs.push({ rel, names: upperNames });
  for (const name of names) {
    const childRel = childPath(rel, name);
    if (isUnder(w.ignore, childRel)) continue;
    const st = fs.lstatSync(hostPath(w.upper, childRel));
    const lowerSt = lowerDir ? w.lower.lookup(childRel)?.st : undefined;
    const excluded = w.exclude.has(childRel);
    if (isOverlayWhiteout(st)) {
      upperNames.delete(name);
      w.whiteouts.add(childRel);
      if (lowerSt !== undefined && !excluded) w.deleted.add(childRel);
      continue;
    }
    if (!excluded) {
      if (lowerSt !== undefined && sameMetadata(lowerSt, st)) w.candidates.set(childRel, st);
      else w.changed.set(childRel, st);
    }
    if (st.isDirectory()) walkUpper(w, childRel, lowerSt?.isDirectory() ?? false);
  }
}

/**
 * An opaque directory over a lower directory hides every lower child: those the upper dir does not hold again
 * are deleted. Below an opaque directory nothing of the lower dir shows through, opaque marker or not, so a
 * directory is replaced when it is opaque or its parent is replaced (and both are over lower directories).
 */
function settleOpaqueDirs(w: OverlayWalk, upperXattrs: XattrMap): void {
  const replaced = new Set<string>();
  for (const { rel, names } of w.overLowerDirs) {
    const slash = rel.lastIndexOf('/');
    if (!(replaced.has(slash < 0 ? '' : rel.slice(0, slash)) || isOpaqueDir(upperXattrs.get(rel)))) continue;
    replaced.add(rel);
    for (const name of w.lower.names(rel)) {
      const childRel = childPath(rel, name);
      if (names.has(name) || isUnder(w.ignore, childRel) || w.exclude.has(childRel)) continue;
      w.deleted.add(childRel);
    }
  }
}

/** Refuses overlay features the walk cannot read, on any entry it took (whiteouts and ignored paths aside). */
function checkUpperSupported(w: OverlayWalk, upperXattrs: XattrMap): void {
  checkSupported('', upperXattrs.get(''));
  for (const [rel, attrs] of upperXattrs) {
    if (rel !== '' && !w.whiteouts.has(rel) && !isUnder(w.ignore, rel)) checkSupported(rel, attrs);
  }
}

/** Keeps the candidates that differ from the lower entry in xattrs, symlink target or content. */
function settleCandidates(w: OverlayWalk, upperXattrs: XattrMap): void {
  if (w.candidates.size === 0) return;
  const rels = [...w.candidates.keys()];
  const lowerXattrs = w.lower.xattrs(rels);
  for (const rel of rels) {
    const st = w.candidates.get(rel)!;
    const upperAttrs = filterXattrs(upperXattrs.get(rel));
    let same = sameXattrs(lowerXattrs.get(rel), upperAttrs);
    const upperPath = hostPath(w.upper, rel);
    const lowerPath = w.lower.lookup(rel)!.path;
    if (same && st.isSymbolicLink()) same = fs.readlinkSync(upperPath) === fs.readlinkSync(lowerPath);
    else if (same && st.isFile() && st.size > 0) same = sameContent(upperPath, lowerPath);
    if (!same) w.changed.set(rel, st);
  }
}

function filterXattrs(attrs: Record<string, Buffer> | undefined): Record<string, Buffer> | undefined {
  if (attrs === undefined) return undefined;
  const kept = Object.entries(attrs).filter(([name]) => defaultXattrFilter(name));
  return kept.length === 0 ? undefined : Object.fromEntries(kept);
}

export interface OverlayUpperChanges {
  result: SnapshotResult;
  /** Layer-form paths of the upper dir's opaque directories (for using it as a lower layer later). */
  opaqueDirs: string[];
}

/** Layer-form paths of the opaque directories among an upper dir's xattrs. */
function opaqueDirsOf(upperXattrs: XattrMap): string[] {
  return [...upperXattrs].filter(([, attrs]) => isOpaqueDir(attrs)).map(([rel]) => rel);
}

/** Layer-form paths of the opaque directories of an (unmounted) upper dir. Cost: O(upper dir). */
export function upperOpaqueDirs(upper: string): string[] {
  return opaqueDirsOf(readTreeXattrs(path.resolve(upper), (name) => OPAQUE.includes(name)));
}

/** Layer entries for what a step wrote into an overlay upper dir (unmounted). Cost: O(upper dir). */
export function overlayUpperEntries(upper: string, options: OverlayUpperOptions): SnapshotResult {
  return overlayUpperChanges(upper, options).result;
}

export function overlayUpperChanges(upper: string, options: OverlayUpperOptions): OverlayUpperChanges {
  const upperAbs = path.resolve(upper);
  const w: OverlayWalk = {
    upper: upperAbs,
    lower: typeof options.lower === 'string' ? directoryLower(path.resolve(options.lower)) : options.lower,
    exclude: pathSet(options.exclude),
    ignore: pathSet(options.ignorePaths),
    changed: new Map(),
    deleted: new Set(),
    candidates: new Map(),
    overLowerDirs: [],
    whiteouts: new Set(),
  };
  // Two passes: the xattr server reads the tree's xattrs on its own core while this thread lstats it.
  const upperXattrsRead = readTreeXattrsLater(upperAbs, () => true);
  let upperXattrs: XattrMap;
  try {
    walkUpper(w, '', true);
  } finally {
    // Read even when the walk failed: the answer must not be left for the next request to find.
    upperXattrs = upperXattrsRead();
  }
  checkUpperSupported(w, upperXattrs);
  settleOpaqueDirs(w, upperXattrs);
  settleCandidates(w, upperXattrs);
  const opaqueDirs = opaqueDirsOf(upperXattrs);
  const result = snapshotResult({
    root: upperAbs,
    changed: w.changed,
    deleted: w.deleted,
    readXattrs: (_root, rels) => {
      const out: XattrMap = new Map();
      for (const rel of rels) {
        const attrs = filterXattrs(upperXattrs.get(rel));
        if (attrs !== undefined) out.set(rel, attrs);
      }
      return out;
    },
  });
  return { result, opaqueDirs };
}
