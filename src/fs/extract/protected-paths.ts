/**
 * Paths a layer application must neither write nor remove: an in-place build's ignore list (Kiln's own
 * directories, the container's mount points). Paths are as seen inside the root ("/proc", "/kaniko").
 */

export interface ProtectedPaths {
  /** The path or one of its ancestors is protected. */
  isProtected(inRootPath: string): boolean;
  /** A protected path lies strictly below this one (it may be merged into, never replaced or removed). */
  holdsProtected(inRootPath: string): boolean;
}

/** "/" + the part of `hostPath` below `root` ("/" for the root itself). */
export function inRootPath(root: string, hostPath: string): string {
  if (root === '/') return '/' + hostPath.replace(/^\/+/, '');
  if (hostPath === root) return '/';
  return hostPath.startsWith(root + '/') ? hostPath.slice(root.length) : hostPath;
}

/**
 * What may happen to the entry at `hostPath`: `spare` (leave it be: protected), `holds` (protected paths lie
 * below: a directory entry may merge into it, nothing may replace or remove it), or `free` (as usual).
 */
export function protection(protect: ProtectedPaths, root: string, hostPath: string): 'spare' | 'holds' | 'free' {
  const p = inRootPath(root, hostPath);
  if (protect.isProtected(p)) return 'spare';
  return protect.holdsProtected(p) ? 'holds' : 'free';
}
