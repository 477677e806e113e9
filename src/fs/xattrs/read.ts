/**
 * Reading extended attributes (Node has no xattr API): through the long-lived xattr server, else with getfattr.
 * Symlinks are never followed; results are raw (every name), the callers filter.
 */
import { getfattrPathXattrs, getfattrTreeXattrs } from './getfattr.ts';
import { serverPathXattrs, serverTreeXattrs, type RawXattrs } from './xattr-server.ts';

export type { RawXattrs };

/** xattrs of each absolute path, index-aligned; undefined where a path has none or cannot be read. */
export function readXattrsOfPaths(absPaths: readonly string[]): (RawXattrs | undefined)[] {
  if (absPaths.length === 0) return [];
  return serverPathXattrs(absPaths) ?? getfattrPathXattrs(absPaths);
}

/** xattrs of every entry under `absRoot` (the root included, as ""), keyed by relative path. */
export function readXattrsOfTree(absRoot: string): Map<string, RawXattrs> {
  return serverTreeXattrs(absRoot) ?? getfattrTreeXattrs(absRoot);
}

/** The attributes `keep` accepts, or undefined when none is left. */
export function keptXattrs(attrs: RawXattrs | undefined, keep: (name: string) => boolean): RawXattrs | undefined {
  if (attrs === undefined) return undefined;
  let out: RawXattrs | undefined;
  for (const [name, value] of Object.entries(attrs)) {
    if (!keep(name)) continue;
    out ??= {};
    out[name] = value;
  }
  return out;
}
