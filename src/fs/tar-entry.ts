/**
 * Tar entries for layers and their byte encoding. Headers follow Go's archive/tar in PAX format (what
 * BuildKit/containerd write): USTAR when a field fits (7 octal digits + NUL, names split at a '/' into
 * prefix/name), otherwise a PAX 'x' header with records sorted by key; no uname/gname; directories end in
 * '/'; the archive ends with two zero blocks. Same entry in, same bytes out.
 */
import { posix } from 'node:path';
import { KilnError } from '../errors.ts';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** Where a file's bytes come from: a file on disk (streamed) or a small in-memory buffer. */
export type TarContent = Buffer | { path: string };

export interface TarEntry {
  /** Relative path inside the layer, '/'-separated, no leading '/' or './', no trailing '/'. */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (masked to 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in seconds since the epoch (fractions are dropped). */
  mtime: number;
  /** Symlink target, or for hardlinks the layer path of the earlier entry. */
  linkname?: string;
  /** Byte size for files (defaults to the buffer's length). */
  size?: number;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, values as raw bytes (e.g. binary security.capability). */
  xattrs?: Record<string, Buffer>;
  content?: TarContent;
}

export const BLOCK = 512;
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6',
};

/** A whiteout entry deleting `path` in lower layers. */
export function whiteoutEntry(path: string, mtime = 0): TarEntry {
  const slash = path.lastIndexOf('/');
  const name = `${path.slice(0, slash + 1)}${WHITEOUT_PREFIX}${path.slice(slash + 1)}`;
  return { path: name, type: 'file', mode: 0, uid: 0, gid: 0, mtime, content: Buffer.alloc(0) };
}

/** An opaque-directory marker: `dir`'s lower-layer content is hidden. */
export function opaqueWhiteoutEntry(dir: string, mtime = 0): TarEntry {
  const path = dir === '' ? OPAQUE_WHITEOUT : `${dir}/${OPAQUE_WHITEOUT}`;
  return { path, type: 'file', mode: 0, uid: 0, gid: 0, mtime, content: Buffer.alloc(0) };
}

/**
 * Layer order: a depth-first walk with names sorted bytewise in each directory (Go's filepath.Walk order),
 * except that a directory's opaque marker comes first among its children.
 */
export function compareTarPaths(a: string, b: string): number {
  if (a === b) return 0;
  // The first component that differs is the one holding the first character that differs (sorting a big
  // layer compares ~20 path pairs per entry: no splitting, no buffers unless a name is not ASCII).
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  const start = i === 0 ? 0 : a.lastIndexOf('/', i - 1) + 1;
  const ca = component(a, start);
  const cb = component(b, start);
  if (ca === cb) return a.length - b.length; // one path is the other's ancestor: fewer components first
  if (ca === OPAQUE_WHITEOUT) return -1;
  if (cb === OPAQUE_WHITEOUT) return 1;
  if (isAscii(ca) && isAscii(cb)) return ca < cb ? -1 : 1;
  return Buffer.compare(Buffer.from(ca), Buffer.from(cb));
}

/** The path component of `p` that starts at `start`. */
function component(p: string, start: number): string {
  const end = p.indexOf('/', start);
  return end < 0 ? p.slice(start) : p.slice(start, end);
}

/** Cleans a path to layer form: no leading '/' or './', no trailing '/', no '.' segments. */
export function layerPath(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) {
    throw new KilnError('INVALID_LAYER_PATH', `layer path "${p}" escapes the layer root`);
  }
  return parts.join('/');
}

export function entrySize(e: TarEntry): number {
  if (e.type !== 'file') return 0;
  if (e.size !== undefined) return e.size;
  if (Buffer.isBuffer(e.content)) return e.content.length;
  if (e.content === undefined) return 0;
  throw new KilnError('INVALID_TAR_ENTRY', `tar entry "${e.path}" streams a file but has no size`);
}

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

function toAscii(s: string): string {
  return s.replace(/[^\x00-\x7f]/g, '');
}

/** Octal with leading zeros and a trailing NUL, or undefined when it does not fit the field. */
function octal(value: number, width: number): string | undefined {
  if (!Number.isInteger(value) || value < 0) return undefined;
  const s = value.toString(8);
  if (s.length > width - 1) return undefined;
  return `${s.padStart(width - 1, '0')}\0`;
}

/** Go's splitUSTARPath: a long ASCII name split at a '/' into prefix (≤155) and name (≤100). */
function splitUstarPath(name: string): [string, string] | undefined {
  let length = name.length;
  if (length <= 100 || !isAscii(name)) return undefined;
  if (length > 156) length = 156;
  else if (name[length - 1] === '/') length--;
  const i = name.slice(0, length).lastIndexOf('/');
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > 100 || nlen === 0 || i > 155) return undefined;
  return [name.slice(0, i), name.slice(i + 1)];
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

interface RawHeader {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}

function writeField(buf: Buffer, offset: number, width: number, s: string): void {
  buf.write(s.length > width ? s.slice(0, width) : s, offset, width, 'latin1');
}

function rawHeaderBlock(h: RawHeader, numeric: boolean): Buffer {
  const buf = Buffer.alloc(BLOCK);
  writeField(buf, 0, 100, h.name);
  writeField(buf, 100, 8, octal(h.mode, 8) ?? '');
  writeField(buf, 108, 8, octal(h.uid, 8) ?? octal(0, 8)!);
  writeField(buf, 116, 8, octal(h.gid, 8) ?? octal(0, 8)!);
  writeField(buf, 124, 12, octal(h.size, 12) ?? octal(0, 12)!);
  writeField(buf, 136, 12, octal(h.mtime, 12) ?? octal(0, 12)!);
  buf.write(h.typeflag, 156, 1, 'latin1');
  writeField(buf, 157, 100, h.linkname);
  buf.write('ustar\x0000', 257, 8, 'latin1');
  if (numeric) {
    writeField(buf, 329, 8, octal(h.devmajor, 8) ?? octal(0, 8)!);
    writeField(buf, 337, 8, octal(h.devminor, 8) ?? octal(0, 8)!);
  }
  writeField(buf, 345, 155, h.prefix);
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += buf[i];
  buf.write(`${sum.toString(8).padStart(6, '0')}\0`, 148, 7, 'latin1');
  return buf;
}

/** Header block(s) for an entry: the USTAR header, or a PAX 'x' header + records and then the header. */
export function encodeTarHeader(e: TarEntry): Buffer {
  const size = entrySize(e);
  const name = e.type === 'dir' ? `${e.path}/` : e.path;
  const linkname = e.linkname ?? '';
  const mtime = Math.max(0, Math.floor(e.mtime));
  if (octal(e.devmajor ?? 0, 8) === undefined || octal(e.devminor ?? 0, 8) === undefined) {
    throw new KilnError('INVALID_TAR_ENTRY', `device numbers of "${e.path}" do not fit a tar header`);
  }
  const fields = {
    mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, size, mtime, typeflag: TYPEFLAG[e.type],
    devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0,
  };

  const pax = new Map<string, Buffer>();
  let ustarFits = true;
  const longName = name.length > 100 || !isAscii(name);
  const split = longName ? splitUstarPath(name) : undefined;
  if (longName) {
    pax.set('path', Buffer.from(name));
    if (!split) ustarFits = false;
  }
  if (linkname.length > 100 || !isAscii(linkname)) {
    pax.set('linkpath', Buffer.from(linkname));
    ustarFits = false;
  }
  for (const [key, value, width] of [['uid', e.uid, 8], ['gid', e.gid, 8], ['size', size, 12], ['mtime', mtime, 12]] as const) {
    if (octal(value, width) === undefined) {
      pax.set(key, Buffer.from(String(value)));
      ustarFits = false;
    }
  }
  for (const [k, v] of Object.entries(e.xattrs ?? {})) {
    pax.set(`SCHILY.xattr.${k}`, v);
    ustarFits = false;
  }

  if (ustarFits) {
    const [prefix, ustarName] = split ?? ['', name];
    return rawHeaderBlock({ ...fields, name: ustarName, prefix, linkname }, true);
  }
  const keys = [...pax.keys()].sort();
  const data = Buffer.concat(keys.map((k) => paxRecord(k, pax.get(k)!)));
  const slash = name.lastIndexOf('/');
  const paxName = toAscii(posix.join(name.slice(0, slash + 1), 'PaxHeaders.0', name.slice(slash + 1)))
    .slice(0, 100)
    .replace(/\/+$/, '');
  const paxHeader = rawHeaderBlock(
    { name: paxName, prefix: '', mode: 0, uid: 0, gid: 0, size: data.length, mtime: 0, typeflag: 'x', linkname: '', devmajor: 0, devminor: 0 },
    false,
  );
  const header = rawHeaderBlock({ ...fields, name: toAscii(name), prefix: '', linkname: toAscii(linkname) }, true);
  return Buffer.concat([paxHeader, data, Buffer.alloc(padding(data.length)), header]);
}

/** Zero bytes that pad `size` bytes of data to a block boundary. */
export function padding(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

/** The end-of-archive marker. */
export function tarTrailer(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
