/**
 * Where ext4 puts the inodes of a build's big trees. On ext4 without a journal (this project's CI machines;
 * `tune2fs -O ^has_journal` setups), every inode allocation skips free inodes deleted in the last minute (six
 * while their inode-table block is still dirty): `recently_deleted()` in ext4's ialloc.c, one buffer lookup
 * per skipped inode. New files go to their directory's block group, new directories near their
 * parent's; a build that writes 20k files where the previous build's 20k were just deleted scans past all of
 * them on every create: measured 9.2 s of system time against 0.95 s in a fresh group, the same RUN step.
 *
 * The kernel's answer is the "top directory" flag (chattr +T, FS_TOPDIR_FL): subdirectories of a directory
 * carrying it are spread by the Orlov allocator, to the group with the fewest directories among those with
 * more free inodes and blocks than average, searched from a start given by the hash of the new directory's
 * name. Kiln marks its own directories whose children are the big trees (layer dirs, unpacked layers) and
 * gives those children unique names, so each lands where no deletion just happened. A hint, never required:
 * other filesystems refuse or ignore the flag, and nothing waits on an error.
 */
import { fileURLToPath } from 'node:url';
import { perlCommand, HOST_TOOL_PATH } from '../bundled-tools.ts';
import { spawnForkedScript } from '../spawner.ts';

/** Sets FS_TOPDIR_FL on the directories it is given; exits with how many could not be marked. */
const markScript = fileURLToPath(new URL('./top-dirs.pl', import.meta.url));

/**
 * Marks `dirs` as top directories (see above); resolves to how many were marked, never rejects. Forked by the
 * spawner (no exec of perl, ~9 ms of CPU here): the caller's thread only writes a request.
 */
export function markTopDirs(dirs: readonly string[]): Promise<number> {
  if (dirs.length === 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    const child = spawnForkedScript({ script: markScript, namespaces: [], args: dirs }, [...perlCommand(), markScript, ...dirs] as [string, ...string[]],
      { env: { PATH: HOST_TOOL_PATH }, pipes: [] });
    child.on('error', () => resolve(0));
    child.on('close', (code) => resolve(code === null ? 0 : Math.max(0, dirs.length - code)));
  });
}
