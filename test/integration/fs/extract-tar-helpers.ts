/** Helpers for the layer-extraction tests: tar files made with tar-stream, temp roots, tree listings. */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';

export interface TarEntry {
  name: string;
  type?: tar.Header['type'];
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

/** A tar (as written by tar-stream) of `entries`, in order. */
export async function makeTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk) => {
    chunks.push(chunk as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const content = entry.content !== undefined ? Buffer.from(entry.content) : type === 'file' ? Buffer.alloc(0) : undefined;
    await new Promise<void>((resolve, reject) => {
      const header = {
        name: entry.name,
        type,
        mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        mtime: entry.mtime ?? new Date(1_600_000_000_000),
        linkname: entry.linkname,
        devmajor: entry.devmajor,
        devminor: entry.devminor,
        pax: entry.pax,
        size: content?.length ?? 0,
      };
      const callback = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (content !== undefined) pack.entry(header, content, callback);
      else pack.entry(header, callback);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function tarStream(buffer: Buffer): Readable {
  return Readable.from([buffer]);
}

export interface TempRoot {
  /** The directory holding both the rootfs and the sentinel. */
  base: string;
  rootfs: string;
  /** A directory next to the rootfs that no layer may touch; holds `keep` and `sub/keep`. */
  outside: string;
}

/** base/rootfs (empty) and base/outside (sentinel), removed after the test. */
export function makeTempRoot(t: { after: (fn: () => void) => void }): TempRoot {
  const base = mkdtempSync(join(tmpdir(), 'kiln-extract-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const rootfs = join(base, 'rootfs');
  const outside = join(base, 'outside');
  mkdirSync(rootfs);
  mkdirSync(join(outside, 'sub'), { recursive: true });
  for (const file of ['keep', 'sub/keep']) writeFileSync(join(outside, file), `sentinel ${file}\n`);
  return { base, rootfs, outside };
}

/**
 * A listing of everything under `dir` (not following symlinks): path, type, mode, owner, size, mtime (ms),
 * link target and content digest. `skip` names top-level entries to leave out.
 */
export function listTree(dir: string, skip: readonly string[] = []): string[] {
  const lines: string[] = [];
  const walk = (relative: string): void => {
    const path = relative === '' ? dir : join(dir, relative);
    const stats = lstatSync(path);
    const type = stats.isDirectory() ? 'd' : stats.isSymbolicLink() ? 'l' : stats.isFile() ? 'f' : stats.isFIFO() ? 'p' : stats.isCharacterDevice() ? 'c' : 'b';
    const extra = type === 'l' ? readlinkSync(path) : type === 'f' ? createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16) : '';
    const mtime = type === 'd' && relative === '' ? '' : String(Math.floor(stats.mtimeMs));
    lines.push(`${relative || '.'} ${type} ${(stats.mode & 0o7777).toString(8)} ${stats.uid}:${stats.gid} ${type === 'f' ? stats.size : ''} ${mtime} ${extra}`);
    if (type !== 'd') return;
    for (const name of readdirSync(path).sort()) {
      if (relative === '' && skip.includes(name)) continue;
      walk(relative === '' ? name : join(relative, name));
    }
  };
  walk('');
  return lines;
}
