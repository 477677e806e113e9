/**
 * Path arithmetic of a COPY/ADD: BuildKit's cleaning of source and destination paths (a trailing `/` or `/.`
 * on the destination means "a directory"), the `/./` pivot of --parents, and where one source lands.
 */
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { containsWildcards } from '../../fs/patterns/go-path-match.ts';

/** BuildKit's cleanPath: '/'-rooted and cleaned, keeping a trailing '/' or '/.'. */
export function cleanPath(path: string): string {
  const cleaned = posix.join('/', path);
  const base = cleaned.length > 1 && cleaned.endsWith('/') ? cleaned.slice(0, -1) : cleaned;
  if (path.endsWith('/.')) return base === '/' ? '/.' : `${base}/.`;
  if (path.endsWith('/') && base !== '/') return `${base}/`;
  return base;
}

export const cleanSourcePath = cleanPath;
export const cleanDestPath = cleanPath;

/**
 * fsutil's Copy: the directory made before anything else (the destination itself when it ends in '/' or
 * '/.', else its parent) and the cleaned destination.
 */
export function splitDest(destPath: string): { ensureDir: string; target: string } {
  const slash = destPath.lastIndexOf('/');
  const last = destPath.slice(slash + 1);
  const ensureDir = last !== '' && last !== '.' ? destPath.slice(0, slash + 1) : destPath;
  return { ensureDir, target: posix.normalize(destPath) };
}

export interface Placement {
  /** Host path the source is copied to. */
  target: string;
  /** Host directory to create first. */
  ensureDir: string;
}

/**
 * fsutil's prepareTargetDir for one source: a file onto an existing directory goes inside it under the
 * source's own name (`name` is the source path as matched, before symlinks were followed); a directory's
 * contents go to the destination, which is created when missing.
 */
export function destinationFor(srcIsDir: boolean, name: string, dstHost: string, copyDirContents: boolean): Placement {
  let destIsDir: boolean | undefined;
  try {
    destIsDir = statSync(dstHost).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
  }
  let target = dstHost;
  if ((!copyDirContents && srcIsDir && destIsDir !== undefined) || (!srcIsDir && destIsDir === true)) {
    target = `${dstHost === '/' ? '' : dstHost}/${posix.basename(name)}`;
  }
  const ensureDir = copyDirContents && srcIsDir && destIsDir === undefined ? target : posix.dirname(target);
  return { target, ensureDir };
}

export interface ParentsSource {
  /** The directory copied (the part before the `/./` pivot, else the source root). */
  source: string;
  /** The include pattern below it. */
  pattern: string;
  /** The path that must exist, when neither part holds a wildcard. */
  requiredPath?: string;
}

/** Splits a COPY --parents source at its first `/./` pivot, as BuildKit's dockerfile frontend does. */
export function parentsSource(srcPath: string): ParentsSource {
  const pivot = srcPath.indexOf('/./');
  const source = pivot === -1 ? '/' : srcPath.slice(0, pivot);
  const rawPattern = pivot === -1 ? srcPath : srcPath.slice(pivot + 3);
  const pattern = posix.join('/', rawPattern).replace(/^\/+/, '').replace(/\/+$/, '');
  const result: ParentsSource = { source: posix.join('/', source), pattern };
  if (!containsWildcards(source) && !containsWildcards(pattern)) result.requiredPath = posix.join('/', source, pattern);
  return result;
}
