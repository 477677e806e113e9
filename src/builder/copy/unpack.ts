/**
 * ADD's automatic extraction of a local tar archive (BuildKit's unpack / applyRootArchive). A source is an
 * archive when it is a regular file whose (decompressed) content starts with a valid tar header. The
 * destination directory is created like a copy's parents; entries are extracted below it with their mode,
 * times and owner from the archive (all owned by the --chown owner when given; --chmod does not apply);
 * missing parents inside the archive become 0755 root-owned directories; anything in the way of an entry is
 * replaced, except a directory by a directory. Paths and links cannot leave the destination directory.
 */
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fchownSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { posix } from 'node:path';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as tarStream from 'tar-stream';
import { KilnError } from '../../errors.ts';
import { createSpecialFile } from '../../fs/extract/special-files.ts';
import { lstatIfExists, resolveInRoot } from '../../fs/extract/safe-path.ts';
import type { Owner } from './chown.ts';
import { detectCompression, openDecompressed, readHead, type Compression } from './decompress.ts';

const BLOCK = 512;

/** Whether a 512-byte block is a tar header Go's archive/tar accepts (a valid checksum, not all zeros). */
export function isTarHeaderBlock(block: Buffer): boolean {
  if (block.length < BLOCK || block.every((b) => b === 0)) return false;
  const field = block.subarray(148, 156).toString('latin1').replace(/^[ \0]+|[ \0]+$/g, '');
  let expected: number;
  if ((block[148] & 0x80) !== 0) return false;
  if (field === '') expected = 0;
  else if (/^[0-7]+$/.test(field)) expected = Number.parseInt(field, 8);
  else return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return expected === unsigned || expected === signed;
}

/** The compression of `hostPath` when it is a tar archive (possibly compressed), else undefined. */
export async function archiveCompression(hostPath: string): Promise<Compression | undefined> {
  const stats = lstatIfExists(hostPath);
  if (stats === undefined || !stats.isFile()) return undefined;
  const compression = detectCompression(hostPath);
  const head = await readHead(openDecompressed(hostPath, compression), BLOCK);
  return isTarHeaderBlock(head) ? compression : undefined;
}

export interface ExtractOptions {
  /** Overrides every entry's owner. */
  chown?: Owner;
  /** Receives every host path created or changed. */
  onChange: (hostPath: string) => void;
}

function cleanEntryName(name: string): string {
  const cleaned = posix.normalize(name.replace(/^\/+/, ''));
  if (cleaned === '.' || cleaned === '' || cleaned === './') return '';
  const trimmed = cleaned.endsWith('/') ? cleaned.slice(0, -1) : cleaned;
  if (trimmed === '..' || trimmed.startsWith('../')) {
    throw new KilnError('ADD_UNSAFE_ARCHIVE', `archive path "${name}" is outside extraction root`);
  }
  return trimmed;
}

/** Creates the missing directories between `root` and the parent of `host` (0755, root-owned). */
function ensureParents(root: string, host: string, onChange: (p: string) => void): void {
  const parts = host.slice(root.length + 1).split('/').slice(0, -1);
  let current = root;
  for (const part of parts) {
    current = `${current}/${part}`;
    const stats = lstatIfExists(current);
    if (stats === undefined) {
      mkdirSync(current, { mode: 0o755 });
      lchownSync(current, 0, 0);
      chmodSync(current, 0o755);
      onChange(current);
    } else if (!stats.isDirectory()) {
      throw new KilnError('ADD_FAILED', `mkdir ${current}: not a directory`);
    }
  }
}

interface DirTimes {
  host: string;
  mtime: number;
}

/** Extracts the archive at `archivePath` (with the given compression) into the existing directory `destHost`. */
export async function extractArchive(archivePath: string, compression: Compression, destHost: string, options: ExtractOptions): Promise<void> {
  const extract = tarStream.extract({ allowUnknownFormat: true } as never);
  const source = openDecompressed(archivePath, compression);
  const feeding = pipeline(source, extract);
  const dirs: DirTimes[] = [];
  try {
    for await (const entry of extract) {
      const header = entry.header;
      const name = cleanEntryName(header.name);
      if (name === '') {
        entry.resume();
        continue;
      }
      const isDir = header.type === 'directory';
      const host = resolveInRoot(destHost, name, { followFinal: isDir });
      if (host === destHost) {
        entry.resume();
        continue;
      }
      ensureParents(destHost, host, options.onChange);
      const existing = lstatIfExists(host);
      if (existing !== undefined && (!existing.isDirectory() || !isDir)) rmSync(host, { recursive: true, force: true });
      const uid = options.chown?.uid ?? header.uid;
      const gid = options.chown?.gid ?? header.gid;
      const mode = header.mode & 0o7777;
      const mtime = header.mtime.getTime() / 1000;
      switch (header.type) {
        case 'directory':
          if (existing === undefined || !existing.isDirectory()) mkdirSync(host, { mode: 0o700 });
          lchownSync(host, uid, gid);
          chmodSync(host, mode);
          dirs.push({ host, mtime });
          entry.resume();
          break;
        case 'file':
        case 'contiguous-file': {
          const fd = openSync(host, 'wx', 0o600);
          await pipeline(entry, createWriteStream('', { fd, autoClose: false }));
          fchownSync(fd, uid, gid);
          fchmodSync(fd, mode);
          closeSync(fd);
          lutimesSync(host, mtime, mtime);
          break;
        }
        case 'symlink':
          symlinkSync(header.linkname, host);
          lchownSync(host, uid, gid);
          lutimesSync(host, mtime, mtime);
          entry.resume();
          break;
        case 'link': {
          const targetName = cleanEntryName(header.linkname);
          if (targetName === '') throw new KilnError('ADD_UNSAFE_ARCHIVE', `archive hardlink "${header.name}" targets extraction root`);
          linkSync(resolveInRoot(destHost, targetName, { followFinal: false }), host);
          lchownSync(host, uid, gid);
          if (!lstatSync(host).isSymbolicLink()) {
            chmodSync(host, mode);
            lutimesSync(host, mtime, mtime);
          }
          entry.resume();
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo': {
          const outcome = createSpecialFile(host, { type: header.type, mode, devmajor: header.devmajor, devminor: header.devminor }, 'mknod');
          if (!outcome.created) throw new KilnError('ADD_FAILED', `cannot create ${header.type} "${header.name}": ${outcome.reason}`);
          lchownSync(host, uid, gid);
          chmodSync(host, mode);
          lutimesSync(host, mtime, mtime);
          entry.resume();
          break;
        }
        default:
          throw new KilnError('ADD_FAILED', `unsupported tar entry "${header.name}" type ${String(header.type)}`);
      }
      options.onChange(host);
    }
    await feeding;
  } catch (err) {
    source.destroy();
    extract.destroy();
    await feeding.catch(() => {});
    throw err;
  }
  // Directory times last, innermost first, since extracting into them moved them.
  for (let i = dirs.length - 1; i >= 0; i--) lutimesSync(dirs[i].host, dirs[i].mtime, dirs[i].mtime);
}
