/**
 * Reading extended attributes (Node has no xattr API): through the long-lived xattr server, else with getfattr.
 * Symlinks are never followed; results are raw (every name), the callers filter.
 */
import { getfattrPathXattrs, getfattrTreeXattrs } from './getfattr.ts';
import { serverPathXattrs, serverTreeXattrsLater, type RawXattrs } from './xattr-server.ts';

export type { RawXattrs };

/** xattrs of each absolute path, index-aligned; undefined where a path has none or cannot be read. */
export function readXattrsOfPaths(absPaths: readonly string[]): (RawXattrs | undefined)[] {
  if (absPaths.length === 0) return [];
  return serverPathXattrs(absPaths) ?? getfattrPathXattrs(absPaths);
}

/** xattrs of every entry under `absRoot` (the root included, as ""), keyed by relative path. */
export function readXattrsOfTree(absRoot: string): Map<string, RawXattrs> {
  return readXattrsOfTreeLater(absRoot)();
}

/**
 * readXattrsOfTree started now (the xattr server walks the tree beside the caller), read by the function
 * returned, which the caller must call before anything else reads xattrs (getfattr, when there is no server).
 */
export function readXattrsOfTreeLater(absRoot: string): () => Map<string, RawXattrs> {
  const answer = serverTreeXattrsLater(absRoot);
  return () => answer() ?? getfattrTreeXattrs(absRoot);
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
