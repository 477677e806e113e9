/**
 * Resolving paths inside a root filesystem directory the way the kernel would inside a chroot (like Go's
 * `securejoin` / docker's `FollowSymlinkInScope` / containerd's `fs.RootPath`): `..` never climbs above the
 * root, absolute symlink targets start again at the root, and symlinks in the path are followed within it.
 * The result is a host path whose existing components contain no symlinks, so the kernel cannot be led
 * outside the root when it is used.
 */
import { lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { resolve as resolveHostPath } from 'node:path';
import { KilnError } from '../../errors.ts';

/** Linux gives up after 40; securejoin after 255. A loop must fail, a long honest chain must not. */
const MAX_SYMLINKS = 255;

export interface ResolveInRootOptions {
  /** Follow a symlink in the last component too (stat-like), instead of naming the link itself (lstat-like). */
  followFinal: boolean;
}

/** Components of a slash-separated path, without empty and `.` components; `..` is kept. */
export function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

/** Lexically cleaned components of a path taken relative to the root: `..` stops at the root. */
export function cleanPathInRoot(path: string): string[] {
  const parts: string[] = [];
  for (const part of splitPath(path)) {
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts;
}

/** The host path of already-resolved components below `root` (an absolute, normalised host path). */
export function hostPathOf(root: string, parts: readonly string[]): string {
  if (parts.length === 0) return root;
  return (root === '/' ? '' : root) + '/' + parts.join('/');
}

/** lstat that answers undefined for a path that does not exist (also when a parent is not a directory). */
export function lstatIfExists(path: string): Stats | undefined {
  try {
    // No exception for ENOENT: building one costs more than the syscall, and most entries are new.
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * Resolves `input` components, starting from the already-resolved `start` components, within `root`.
 * Returns resolved components; existing ones are never symlinks (except a final one when !followFinal).
 */
function resolveComponents(root: string, start: readonly string[], input: readonly string[], followFinal: boolean): string[] {
  const resolved = [...start];
  const pending = input.filter((part) => part !== '' && part !== '.').reverse();
  let linksFollowed = 0;
  while (pending.length > 0) {
    const part = pending.pop() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    resolved.push(part);
    if (pending.length === 0 && !followFinal) break;
    const host = hostPathOf(root, resolved);
    const stats = lstatIfExists(host);
    if (stats === undefined || !stats.isSymbolicLink()) continue;
    linksFollowed += 1;
    if (linksFollowed > MAX_SYMLINKS) {
      throw new KilnError('LAYER_UNSAFE_PATH', `too many levels of symbolic links resolving "/${input.join('/')}" in the root filesystem`, {
        hint: 'the image contains a symlink loop',
      });
    }
    const target = readlinkSync(host);
    resolved.pop();
    if (target.startsWith('/')) resolved.length = 0;
    const targetParts = splitPath(target);
    for (let i = targetParts.length - 1; i >= 0; i--) pending.push(targetParts[i]);
  }
  return resolved;
}

/**
 * The host path that `path` (as seen from inside `rootfs`, absolute or relative to its root) names.
 * Symlinks are resolved within the root; the final component is followed only with `followFinal`.
 * Missing components are kept as written (after `..` processing). Never returns a path outside `rootfs`.
 */
export function resolveInRoot(rootfs: string, path: string, options: ResolveInRootOptions): string {
  const root = resolveHostPath(rootfs);
  return hostPathOf(root, resolveComponents(root, [], splitPath(path), options.followFinal));
}

/**
 * Resolves directories of one root filesystem during a layer application, remembering the answers:
 * most entries of a layer share a few parent directories. Whoever removes or replaces a directory or a
 * symlink in the root must call `forget()`, since remembered answers may have gone through it.
 */
export class RootDirResolver {
  readonly root: string;
  readonly #dirs = new Map<string, string>();

  constructor(rootfs: string) {
    this.root = resolveHostPath(rootfs);
  }

  /**
   * Host path of the directory named by cleaned components `parts`, created (0755) where missing;
   * `onCreate` hears each directory created.
   */
  ensureDir(parts: readonly string[], onCreate?: (hostPath: string) => void): string {
    if (parts.length === 0) return this.root;
    const key = parts.join('/');
    const known = this.#dirs.get(key);
    if (known !== undefined) return known;
    const host = this.#resolveDir(parts);
    const stats = lstatIfExists(host);
    try {
      if (stats === undefined) {
        const first = mkdirSync(host, { recursive: true, mode: 0o755 });
        if (first !== undefined && onCreate !== undefined) {
          for (let created = first; ; created += '/' + host.slice(created.length + 1).split('/')[0]) {
            onCreate(created);
            if (created.length >= host.length) break;
          }
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
    }
    if (!lstatIfExists(host)?.isDirectory()) {
      throw new KilnError('LAYER_INVALID', `"/${key}" is used as a directory in the layer but is not one in the root filesystem`);
    }
    this.#dirs.set(key, host);
    return host;
  }

  /** Host path of an existing directory named by cleaned components, or undefined. Creates nothing. */
  findDir(parts: readonly string[]): string | undefined {
    if (parts.length === 0) return this.root;
    const known = this.#dirs.get(parts.join('/'));
    if (known !== undefined) return known;
    const host = this.#resolveDir(parts);
    return lstatIfExists(host)?.isDirectory() ? host : undefined;
  }

  /** Records that cleaned components `parts` name the real (non-symlink) directory at `host`. */
  remember(parts: readonly string[], host: string): void {
    this.#dirs.set(parts.join('/'), host);
  }

  forget(): void {
    this.#dirs.clear();
  }

  #resolveDir(parts: readonly string[]): string {
    // Start from the longest remembered parent: its host path is already free of symlinks.
    for (let i = parts.length - 1; i > 0; i--) {
      const known = this.#dirs.get(parts.slice(0, i).join('/'));
      if (known === undefined) continue;
      const start = known === this.root ? [] : known.slice(this.root === '/' ? 1 : this.root.length + 1).split('/');
      return hostPathOf(this.root, resolveComponents(this.root, start, parts.slice(i), true));
    }
    return hostPathOf(this.root, resolveComponents(this.root, [], parts, true));
  }
}
