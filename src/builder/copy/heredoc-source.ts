/**
 * `COPY <<EOF /dest`: BuildKit writes the here-document as a 0644 root-owned file named after the heredoc
 * in a scratch state and copies that file (no wildcards, no symlink following, no directory contents
 * logic) with the instruction's --chown/--chmod. Its time is the build time, or SOURCE_DATE_EPOCH.
 */
import { chmodSync, lutimesSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { KilnError } from '../../errors.ts';
import type { ChmodSpec } from './chmod.ts';
import type { Owner } from './chown.ts';
import { copyFiles, type CopyResult } from './copy-files.ts';

export interface HeredocFileRequest {
  /** The heredoc's name as written after `<<` (e.g. `EOF` or `script.sh`). */
  name: string;
  content: string | Uint8Array;
  dstRoot: string;
  /** Absolute destination inside the rootfs, trailing '/' kept. */
  dest: string;
  chown?: Owner;
  chmod?: ChmodSpec;
  sourceDateEpoch?: number;
  /** Where to stage the file; defaults to the OS temp dir. Must be outside dstRoot. */
  stagingDir?: string;
}

/** Writes a here-document into the rootfs as BuildKit's COPY does. */
export async function writeHeredocFile(req: HeredocFileRequest): Promise<CopyResult> {
  const fileName = posix.basename(posix.join('/', req.name));
  if (fileName === '' || fileName === '/') {
    throw new KilnError('COPY_INVALID_HEREDOC', `invalid here-document name "${req.name}"`);
  }
  const staging = mkdtempSync(join(req.stagingDir ?? tmpdir(), 'kiln-heredoc-'));
  try {
    const file = join(staging, fileName);
    writeFileSync(file, req.content);
    chmodSync(file, 0o644);
    if (req.sourceDateEpoch !== undefined) lutimesSync(file, req.sourceDateEpoch, req.sourceDateEpoch);
    return await copyFiles({
      srcRoot: staging,
      srcPath: `/${fileName}`,
      dstRoot: req.dstRoot,
      dest: req.dest,
      chown: req.chown,
      chmod: req.chmod,
      followSymlinks: false,
      unpack: false,
      ownership: 'root',
      sourceDateEpoch: req.sourceDateEpoch,
      copyDirContents: false,
      literalSource: true,
    });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
