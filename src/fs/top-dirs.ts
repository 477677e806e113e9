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
import { perlCommand, HOST_TOOL_PATH } from '../bundled-tools.ts';
import { spawnProcess } from '../spawner.ts';

/**
 * Sets FS_TOPDIR_FL on each directory in ARGV, keeping its other flags (FS_IOC_GETFLAGS / FS_IOC_SETFLAGS,
 * the numbers of 64-bit Linux; the kernel reads an int). Exit code: how many could not be marked.
 */
const MARK_SCRIPT = [
  'my $failed = 0;',
  'for my $dir (@ARGV) {',
  "  my ($fh, $flags) = (undef, \"\\0\" x 8);",
  "  $failed++ unless open($fh, '<', $dir) && ioctl($fh, 0x80086601, $flags)",
  "    && ioctl($fh, 0x40086602, pack('L', unpack('L', $flags) | 0x20000) . \"\\0\" x 4);",
  '}',
  'exit $failed;',
].join('\n');

/**
 * Marks `dirs` as top directories (see above); resolves to how many were marked, never rejects. Runs through
 * the spawner: the caller's thread only writes a request.
 */
export function markTopDirs(dirs: readonly string[]): Promise<number> {
  if (dirs.length === 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    const [perl, ...prefix] = perlCommand();
    const child = spawnProcess(perl as string, [...prefix, '-e', MARK_SCRIPT, ...dirs], { env: { PATH: HOST_TOOL_PATH }, pipes: [] });
    child.on('error', () => resolve(0));
    child.on('close', (code) => resolve(code === null ? 0 : Math.max(0, dirs.length - code)));
  });
}
