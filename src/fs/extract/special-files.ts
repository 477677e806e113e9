/**
 * Device nodes and fifos. Node has no mknod(2), so these run `mknod` (coreutils), one process per node.
 * Not batched on purpose: a node created later would be created through whatever the path's parents are by
 * then, and a later entry of the same layer may have replaced a parent with a symlink. Layers rarely hold
 * more than a handful of nodes (modern images have an empty /dev), so a ~1 ms spawn each is cheap.
 */
import { spawnSync } from 'node:child_process';

export type SpecialFileType = 'character-device' | 'block-device' | 'fifo';

export interface SpecialFile {
  type: SpecialFileType;
  /** Permission bits, including setuid/setgid/sticky. */
  mode: number;
  devmajor: number;
  devminor: number;
}

export type SpecialFileOutcome = { created: true } | { created: false; reason: string };

/**
 * Creates the node at `path` (whose parents are known to be real directories inside the root).
 * Devices need CAP_MKNOD: without it (rootless, user namespaces) they are skipped, as containerd and
 * docker do in user namespaces. Other failures are real errors, returned for the caller to raise.
 */
export function createSpecialFile(path: string, file: SpecialFile, mknod: string): SpecialFileOutcome {
  const kind = file.type === 'fifo' ? ['p'] : [file.type === 'block-device' ? 'b' : 'c', String(file.devmajor), String(file.devminor)];
  const result = spawnSync(mknod, ['-m', (file.mode & 0o7777).toString(8), '--', path, ...kind], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (result.error !== undefined) return { created: false, reason: `cannot run ${mknod}: ${result.error.message}` };
  if (result.status === 0) return { created: true };
  return { created: false, reason: result.stderr.trim() || `${mknod} exited with ${result.status}` };
}

/** Whether a failure to create a node should skip it with a warning rather than fail the layer. */
export function mayOmitSpecialFile(type: SpecialFileType, isRoot: boolean): boolean {
  return type !== 'fifo' && !isRoot;
}
