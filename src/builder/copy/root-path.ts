/**
 * Host paths of paths inside a root (the build context or a rootfs), with symlinks evaluated inside the root
 * like containerd's fs.RootPath, so nothing a copy reads or writes can lie outside it.
 */
import { resolve } from 'node:path';
import { resolveInRoot } from '../../fs/extract/safe-path.ts';

/** fsutil's rootPath: resolves `path` in `root`; the final component is followed only with `followFinal`. */
export function rootPath(root: string, path: string, followFinal: boolean): string {
  return resolveInRoot(root, path, { followFinal });
}

/** The path of a host path below `root`, relative to it, without a leading slash ('' for the root). */
export function relativeToRoot(root: string, host: string): string {
  const base = resolve(root);
  if (host === base) return '';
  const prefix = base === '/' ? '/' : `${base}/`;
  return host.startsWith(prefix) ? host.slice(prefix.length) : host;
}

/** The absolute in-root path ('/x/y') of a host path below `root`. */
export function inRootPath(root: string, host: string): string {
  return `/${relativeToRoot(root, host)}`;
}
