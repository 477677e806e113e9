/**
 * OCI whiteouts (image-spec layer.md "Whiteouts"): `.wh.<name>` deletes `<name>` of lower layers,
 * `.wh..wh..opq` hides every lower entry of its directory. Other `.wh..wh.` names are AUFS metadata
 * (`.wh..wh.plnk`, `.wh..wh.aufs`) that never reach a root filesystem.
 */
import { readdirSync, rmSync } from 'node:fs';
import { KilnError } from '../../errors.ts';

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

export type Whiteout =
  | { kind: 'none' }
  | { kind: 'opaque' }
  | { kind: 'meta' }
  | { kind: 'remove'; name: string };

/** What the last component of an entry name means as a whiteout. */
export function classifyWhiteout(base: string): Whiteout {
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  if (base === WHITEOUT_OPAQUE) return { kind: 'opaque' };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: 'meta' };
  const name = base.slice(WHITEOUT_PREFIX.length);
  // containerd rejects these as "invalid whiteout name": they would delete the directory itself or its parent.
  if (name === '' || name === '.' || name === '..') {
    throw new KilnError('LAYER_UNSAFE_PATH', `invalid whiteout name "${base}" in layer`, {
      hint: 'a whiteout must name an entry of its directory',
    });
  }
  return { kind: 'remove', name };
}

/**
 * Removes everything under `dir` that the current layer did not write (`keep` holds host paths it wrote).
 * Kept directories are descended into: lower-layer children of a directory the layer re-declared are hidden too.
 * `spare` keeps protected paths (in-place builds) and descends into directories holding some.
 * Returns whether a directory or symlink was removed (cached path resolutions may then be stale).
 */
export function removeLowerEntries(
  dir: string, keep: ReadonlySet<string>, spare?: (hostPath: string) => 'spare' | 'holds' | 'free',
): boolean {
  let removedLinksOrDirs = false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = dir + '/' + entry.name;
    const protectedAs = spare?.(path) ?? 'free';
    if (protectedAs === 'spare') continue;
    if (keep.has(path) || protectedAs === 'holds') {
      if (entry.isDirectory() && removeLowerEntries(path, keep, spare)) removedLinksOrDirs = true;
      continue;
    }
    if (entry.isDirectory() || entry.isSymbolicLink()) removedLinksOrDirs = true;
    rmSync(path, { recursive: true, force: true });
  }
  return removedLinksOrDirs;
}
