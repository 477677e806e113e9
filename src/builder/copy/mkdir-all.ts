/**
 * The destination directories a copy creates on its way (fsutil's MkdirAll): each missing directory is made
 * 0755, owned by the --chown owner (else by whoever runs the build, root here) and, with a fixed timestamp
 * (SOURCE_DATE_EPOCH), dated with it. BuildKit also gives them the --chmod mode (its testCopyChmod:
 * `COPY --chmod=770 foo /parent/sub/foo` makes /parent/sub 0770).
 */
import { chmodSync, lchownSync, lutimesSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { KilnError } from '../../errors.ts';
import { lstatIfExists } from '../../fs/extract/safe-path.ts';
import type { ChmodSpec, ModeSet } from './chmod.ts';
import { modeWithChmod } from './chmod.ts';
import type { Owner } from './chown.ts';

export interface CreatedDirMetadata {
  chown?: Owner;
  chmod?: ChmodSpec;
  compiledChmod?: ModeSet;
  /** Seconds since the epoch. */
  time?: number;
}

/**
 * Creates `hostPath` and its missing parents; `hostPath` must already be resolved inside its root (no symlinks
 * in existing components). Returns the host paths created, outermost first.
 */
export function mkdirAll(hostPath: string, metadata: CreatedDirMetadata): string[] {
  const stats = lstatIfExists(hostPath);
  if (stats !== undefined) {
    if (stats.isDirectory()) return [];
    throw new KilnError('COPY_NOT_A_DIRECTORY', `mkdir ${hostPath}: not a directory`);
  }
  const parent = dirname(hostPath);
  const created = parent !== hostPath ? mkdirAll(parent, metadata) : [];
  mkdirSync(hostPath, { mode: 0o755 });
  // Set the mode explicitly so the process umask does not decide it.
  chmodSync(hostPath, modeWithChmod(0o755, metadata.chmod, metadata.compiledChmod, true));
  if (metadata.chown !== undefined) lchownSync(hostPath, metadata.chown.uid, metadata.chown.gid);
  if (metadata.time !== undefined) lutimesSync(hostPath, metadata.time, metadata.time);
  created.push(hostPath);
  return created;
}
