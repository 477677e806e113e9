/**
 * Extended attributes of chosen paths (not whole trees): the snapshotters read xattrs of the entries they
 * emit only, so the cost follows the change, not the root filesystem. Node has no xattr API: the xattr server
 * (fs/xattrs) reads them, one `setfattr -x` per name and batch removes them.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { KilnError } from '../../errors.ts';
import { defaultXattrFilter, type XattrMap } from '../layer/xattrs.ts';
import { argvBatches } from '../xattrs/getfattr.ts';
import { keptXattrs, readXattrsOfPaths } from '../xattrs/read.ts';
import { hostPath } from './paths.ts';
import { toolCommand } from '../../bundled-tools.ts';

export type XattrFilter = (name: string) => boolean;

/** Overlay bookkeeping (`trusted.overlay.*`, or `user.overlay.*` with `userxattr`). */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

/**
 * xattrs of `rels` (layer-form paths under `root`, symlinks not followed), keyed by rel path; paths
 * without (kept) xattrs are absent.
 */
export function readPathXattrs(root: string, rels: readonly string[], filter: XattrFilter = defaultXattrFilter): XattrMap {
  const out: XattrMap = new Map();
  if (rels.length === 0) return out;
  const abs = path.resolve(root);
  const found = readXattrsOfPaths(rels.map((rel) => hostPath(abs, rel)));
  for (let i = 0; i < rels.length; i++) {
    const kept = keptXattrs(found[i], filter);
    if (kept !== undefined) out.set(rels[i]!, kept);
  }
  return out;
}

/** Removes xattrs: name → host paths. A path that lacks the name is not an error worth stopping for. */
export function removeXattrs(byName: ReadonlyMap<string, readonly string[]>): void {
  for (const [name, paths] of byName) {
    for (const batch of argvBatches(paths)) {
      const [setfattr, ...prefix] = toolCommand('setfattr');
      const r = spawnSync(setfattr, [...prefix, '-h', '-x', name, '--', ...batch], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.error) {
        throw new KilnError('SNAPSHOT_XATTR_FAILED', `removing ${name} with setfattr failed: ${r.error.message}`, {
          hint: 'install setfattr (Debian package "attr")',
        });
      }
    }
  }
}

export function sameXattrs(a: Record<string, Buffer> | undefined, b: Record<string, Buffer> | undefined): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i] || !a![ka[i]].equals(b![kb[i]])) return false;
  }
  return true;
}
