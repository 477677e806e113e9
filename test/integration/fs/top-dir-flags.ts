/** Reading back ext4's top-directory flag (src/fs/top-dirs.ts) with e2fsprogs, for the tests that check it. */
import { execFileSync } from 'node:child_process';

/** Whether `dir` is on ext2/3/4, the filesystems that honour the flag. */
export const onExt4 = (dir: string): boolean => execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim() === 'ext2/ext3';

/** The flag letters lsattr shows for a directory ("T" among them when it is a top directory). */
export const dirFlags = (dir: string): string => execFileSync('lsattr', ['-d', dir], { encoding: 'utf8' }).split(' ')[0]!;
