/**
 * RUN mounts without mounts (chroot mode, where mount(2) is not allowed): each mount is *materialised* in
 * the rootfs for the step and taken out again after it, so the same Dockerfiles run with the same results.
 *
 * - whatever the rootfs has at the target is moved aside (into the step dir) first and moved back after;
 * - cache: the cache dir is moved in (copied when it lives on another filesystem) and moved back out, so
 *   what the step wrote persists;
 * - bind: the source is copied in (writes are discarded after the step, as BuildKit's are);
 * - tmpfs: an empty 1777 dir, removed after;
 * - secret: a file with the requested mode and owner, removed after (it lives on the rootfs's disk while
 *   the step runs: see docs/security.md);
 * - ssh: a hard link to the agent socket (same filesystem only).
 *
 * Targets are resolved inside the rootfs (its symlinks cannot lead out of it); created parent dirs are mount
 * stubs, removed after when empty. The caller keeps the targets out of the snapshot, as it does for mounts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.ts';
import { resolveInRoot } from '../fs/extract/safe-path.ts';
import { normalizeTarget, sortMounts } from './launch-plan.ts';
import type { MountStub } from './status-channel.ts';
import type { RunMountSpec } from './types.ts';

export interface MaterialisedMounts {
  /** Paths (inside the rootfs) created only to hold a mount, in creation order. */
  stubs: MountStub[];
  /** Takes every mount out of the rootfs again (caches back to their dir), in reverse order. Never throws. */
  restore(): void;
}

interface Placed {
  mount: RunMountSpec;
  host: string;
  /** Where the rootfs's own entry at the target waits meanwhile. */
  aside: string | undefined;
  /** cache only: moved in (rename) rather than copied. */
  moved: boolean;
}

function fail(message: string, code = 'RUN_MOUNT'): never {
  throw new KilnError(code, message);
}

/** True for the mounts that need a path in the rootfs (all but env-only secrets). */
export function isFileMount(mount: RunMountSpec): boolean {
  return mount.type !== 'secret' || mount.target !== '';
}

/** A copy of `from` at `to` keeping type, mode, owner, times and symlink targets (no hard links). */
export function copyTree(from: string, to: string): void {
  const st = fs.lstatSync(from);
  if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(from), to);
    fs.lchownSync(to, st.uid, st.gid);
    return;
  }
  if (st.isDirectory()) {
    fs.mkdirSync(to);
    for (const name of fs.readdirSync(from)) copyTree(path.join(from, name), path.join(to, name));
  } else if (st.isFile()) {
    fs.copyFileSync(from, to);
  } else {
    return;   // sockets, fifos, devices: not carried by a copy
  }
  fs.chownSync(to, st.uid, st.gid);
  fs.chmodSync(to, st.mode & 0o7777);
  fs.utimesSync(to, st.atime, st.mtime);
}

function removeQuietly(target: string): void {
  try { fs.rmSync(target, { recursive: true, force: true }); } catch { /* restore never throws */ }
}

/** Makes the parent dirs of `inside` (a resolved absolute path in the root), reporting each as a stub. */
function ensureParents(root: string, inside: string, stubs: MountStub[]): void {
  const parts = inside.split('/').filter((p) => p !== '');
  let sofar = '';
  for (const part of parts.slice(0, -1)) {
    sofar += `/${part}`;
    const host = path.join(root, sofar);
    const st = fs.lstatSync(host, { throwIfNoEntry: false });
    if (st === undefined) {
      fs.mkdirSync(host, { mode: 0o755 });
      stubs.push({ kind: 'dir', path: sofar });
    } else if (!st.isDirectory()) {
      fail(`cannot create mount point ${inside}: ${sofar} is not a directory`);
    }
  }
}

function stubKind(mount: RunMountSpec): MountStub['kind'] {
  if (mount.type === 'tmpfs' || mount.type === 'cache') return 'dir';
  if (mount.type === 'bind') return fs.statSync(mount.source as string).isDirectory() ? 'dir' : 'file';
  return 'file';
}

function placeContent(placed: Placed, secretValue: (m: RunMountSpec) => Buffer): void {
  const { mount, host } = placed;
  switch (mount.type) {
    case 'tmpfs':
      fs.mkdirSync(host);
      fs.chmodSync(host, 0o1777);
      return;
    case 'secret':
      fs.writeFileSync(host, secretValue(mount), { mode: 0o600 });
      fs.chownSync(host, mount.uid ?? 0, mount.gid ?? 0);
      fs.chmodSync(host, mount.mode ?? 0o400);
      return;
    case 'ssh':
      try {
        fs.linkSync(mount.source as string, host);
      } catch (err) {
        fail(`RUN --mount=type=ssh without mount namespaces needs the agent socket on the rootfs's filesystem (${(err as Error).message})`,
          'RUN_MOUNT_UNSUPPORTED');
      }
      return;
    case 'cache':
      try {
        fs.renameSync(mount.source as string, host);
        placed.moved = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      }
      copyTree(mount.source as string, host);
      return;
    case 'bind':
      copyTree(mount.source as string, host);
  }
}

function takeOut(placed: Placed): void {
  const { mount, host } = placed;
  if (mount.type === 'cache') {
    const source = mount.source as string;
    const present = fs.lstatSync(host, { throwIfNoEntry: false })?.isDirectory() === true;
    try {
      if (placed.moved && present) {
        fs.renameSync(host, source);
      } else if (present) {
        removeQuietly(source);
        copyTree(host, source);
      } else {
        // The step removed the cache dir itself: an empty cache, as a new one would be.
        fs.mkdirSync(source, { recursive: true });
      }
    } catch { /* a cache is only a cache */ }
  }
  removeQuietly(host);
  if (placed.aside !== undefined) {
    try { fs.renameSync(placed.aside, host); } catch { /* the step replaced the parent: nothing to put back into */ }
  }
}

/**
 * Materialise `mounts` (file mounts only) in `root` for one step; `stepDir` (a private dir on any filesystem,
 * preferably the rootfs's) holds what the targets had. On failure, what was placed is taken out again.
 */
export function materialiseMounts(root: string, mounts: readonly RunMountSpec[], stepDir: string,
  secretValue: (m: RunMountSpec) => Buffer): MaterialisedMounts {
  const realRoot = fs.realpathSync(root);
  const stubs: MountStub[] = [];
  const placedAll: Placed[] = [];
  const restore = () => { for (const placed of [...placedAll].reverse()) takeOut(placed); };
  try {
    for (const mount of sortMounts(mounts.filter(isFileMount))) {
      if (mount.type !== 'tmpfs' && mount.type !== 'secret' && !fs.existsSync(mount.source as string)) {
        fail(`mount source ${mount.source} does not exist`);
      }
      const host = resolveInRoot(realRoot, normalizeTarget(mount.target), { followFinal: true });
      const inside = `/${path.relative(realRoot, host)}`;
      if (inside === '/') fail('a RUN mount cannot replace the root itself without mount namespaces', 'RUN_MOUNT_UNSUPPORTED');
      ensureParents(realRoot, inside, stubs);
      let aside: string | undefined;
      if (fs.lstatSync(host, { throwIfNoEntry: false }) !== undefined) {
        aside = path.join(stepDir, `aside-${placedAll.length}`);
        try {
          fs.renameSync(host, aside);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
          aside = `${host}.kiln-aside`;   // another filesystem: wait beside the target, inside the rootfs
          fs.renameSync(host, aside);
        }
      } else {
        stubs.push({ kind: stubKind(mount), path: inside });
      }
      const placed: Placed = { mount, host, aside, moved: false };
      placedAll.push(placed);
      placeContent(placed, secretValue);
    }
  } catch (err) {
    restore();
    throw err instanceof KilnError ? err : new KilnError('RUN_MOUNT', `cannot place a RUN mount in the rootfs: ${(err as Error).message}`);
  }
  return { stubs, restore };
}
