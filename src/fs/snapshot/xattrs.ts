/**
 * Extended attributes of chosen paths (not whole trees): the snapshotters read xattrs of the entries they
 * emit only, so the cost follows the change, not the root filesystem. Node has no xattr API; one `getfattr`
 * call per batch of paths reads them (package attr), one `setfattr -x` per name and batch removes them.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { KilnError } from '../../errors.ts';
import { defaultXattrFilter, parseGetfattr, type XattrMap } from '../layer/xattrs.ts';
import { hostPath } from './paths.ts';
import { toolCommand } from '../../bundled-tools.ts';

/** Keeps argv well below ARG_MAX (2 MiB here, shared with the environment). */
const ARGV_BYTES = 256 * 1024;

export type XattrFilter = (name: string) => boolean;

/** Overlay bookkeeping (`trusted.overlay.*`, or `user.overlay.*` with `userxattr`). */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

function batches(paths: readonly string[]): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const p of paths) {
    const size = Buffer.byteLength(p) + 1;
    if (current.length > 0 && bytes + size > ARGV_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * xattrs of `rels` (layer-form paths under `root`, symlinks not followed), keyed by rel path; paths
 * without (kept) xattrs are absent. Empty when getfattr is not installed.
 */
export function readPathXattrs(root: string, rels: readonly string[], filter: XattrFilter = defaultXattrFilter): XattrMap {
  const out: XattrMap = new Map();
  if (rels.length === 0) return out;
  const abs = path.resolve(root);
  for (const batch of batches(rels.map((rel) => hostPath(abs, rel)))) {
    const [getfattr, ...prefix] = toolCommand('getfattr');
    const r = spawnSync(getfattr, [...prefix, '-P', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--', ...batch], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    if (r.error) return out;
    for (const [p, attrs] of parseGetfattr(r.stdout, filter)) out.set(path.relative(abs, p), attrs);
  }
  return out;
}

/** Removes xattrs: name → host paths. A path that lacks the name is not an error worth stopping for. */
export function removeXattrs(byName: ReadonlyMap<string, readonly string[]>): void {
  for (const [name, paths] of byName) {
    for (const batch of batches(paths)) {
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
