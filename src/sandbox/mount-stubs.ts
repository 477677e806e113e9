/**
 * Removing the mount points a step created (BuildKit's "mount stubs"): an empty /etc/resolv.conf, /proc,
 * /run/secrets/x … must not end up in the rootfs or its layer. Synchronous: a handful of paths.
 */
import { lstatSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { MountStub } from './status-channel.ts';

/** True when every directory between `base` and `path` is a real directory (the step may have swapped one for a symlink). */
function insideWithoutSymlinks(base: string, path: string): boolean {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return false;
  let current = base;
  for (const part of parts.slice(0, -1)) {
    current = join(current, part);
    try {
      if (!lstatSync(current).isDirectory()) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function removeOne(base: string, stub: MountStub): 'removed' | 'kept' | 'gone' {
  if (!insideWithoutSymlinks(base, stub.path)) return 'gone';
  const hostPath = join(base, stub.path);
  let stats;
  try {
    stats = lstatSync(hostPath);
  } catch {
    return 'gone';
  }
  try {
    if (stub.kind === 'dir') {
      if (!stats.isDirectory()) return 'kept';
      rmdirSync(hostPath);
    } else {
      const expected = stub.kind === 'device' ? stats.isCharacterDevice() : stats.isFile();
      if (!expected) return 'kept';
      unlinkSync(hostPath);
    }
    return 'removed';
  } catch {
    // ENOTEMPTY: the step put its own files under the stub dir; they belong to the layer.
    return 'kept';
  }
}

/**
 * Remove `stubs` (in creation order) under `base` (the rootfs dir, or the overlay upper dir), deepest first.
 * Returns the paths that were stubs and are gone now: those a snapshot must leave out.
 */
export function removeMountStubs(base: string, stubs: readonly MountStub[]): string[] {
  const gone: string[] = [];
  for (const stub of [...stubs].reverse()) {
    if (removeOne(base, stub) !== 'kept') gone.push(stub.path);
  }
  return gone.reverse();
}
