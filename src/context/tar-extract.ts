/**
 * Extracts a tar context (plain, gzip or zstd; detected from the first bytes) into a directory without ever
 * writing outside it: no absolute or `..` names, no writing through symlinks, hardlinks only to files
 * already extracted. Contents are streamed; metadata uses synchronous fs calls.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { KilnError } from '../errors.ts';

function tarError(message: string): KilnError {
  return new KilnError('INVALID_CONTEXT_TAR', message);
}

/** The entry name as a safe relative path, or undefined for the root itself. */
export function safeEntryPath(name: string): string | undefined {
  const n = path.posix.normalize(name.replaceAll('\\', '/')).replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  if (n === '' || n === '.') return undefined;
  if (n === '..' || n.startsWith('../')) throw tarError(`tar context entry "${name}" points outside the context`);
  return n;
}

/** Creates the parent directories of `rel` under `dest`, refusing to pass through a symlink. */
function ensureParents(dest: string, rel: string): void {
  const parts = rel.split('/').slice(0, -1);
  let cur = dest;
  for (const part of parts) {
    cur = path.join(cur, part);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(cur);
    } catch {
      st = undefined;
    }
    if (!st) fs.mkdirSync(cur, { mode: 0o755 });
    else if (!st.isDirectory()) throw tarError(`tar context entry "${rel}" goes through a non-directory (${part})`);
  }
}

function removeExisting(abs: string, keepDir: boolean): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(abs);
  } catch {
    return;
  }
  if (keepDir && st.isDirectory()) return;
  fs.rmSync(abs, { recursive: true, force: true });
}

/** The stages that turn `input` into tar bytes: gzip and zstd are decompressed. */
async function decompressed(input: Readable): Promise<NodeJS.ReadableStream[]> {
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : Buffer.from(first.value as Uint8Array);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value as Uint8Array);
    }
  }
  const raw = Readable.from(all(), { objectMode: false });
  if (head[0] === 0x1f && head[1] === 0x8b) return [raw, zlib.createGunzip({ chunkSize: 128 * 1024 })];
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
    return [raw, zlib.createZstdDecompress()];
  }
  return [raw];
}

export async function extractTar(input: Readable, dest: string): Promise<void> {
  const extract = tar.extract();
  const dirModes: Array<[string, number, Date | undefined]> = [];
  const stages = await decompressed(input);
  const done = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const rel = safeEntryPath(h.name);
      const abs = rel === undefined ? dest : path.join(dest, rel);
      const mode = (h.mode ?? 0o644) & 0o7777;
      if (rel !== undefined) ensureParents(dest, rel);
      switch (h.type) {
        case 'directory':
          if (rel !== undefined) {
            removeExisting(abs, true);
            fs.mkdirSync(abs, { recursive: true, mode: 0o755 });
          }
          dirModes.push([abs, mode, h.mtime]);
          entry.resume();
          break;
        case 'file':
        case 'contiguous-file': {
          if (rel === undefined) throw tarError('tar context has a file entry for the root');
          removeExisting(abs, false);
          await pipeline(entry, fs.createWriteStream(abs, { mode: 0o600 }));
          fs.chmodSync(abs, mode);
          if (h.mtime) fs.utimesSync(abs, h.mtime, h.mtime);
          break;
        }
        case 'symlink':
          if (rel === undefined) throw tarError('tar context has a symlink entry for the root');
          removeExisting(abs, false);
          fs.symlinkSync(h.linkname ?? '', abs);
          if (h.mtime) fs.lutimesSync(abs, h.mtime, h.mtime);
          entry.resume();
          break;
        case 'link': {
          if (rel === undefined) throw tarError('tar context has a hardlink entry for the root');
          const target = safeEntryPath(h.linkname ?? '');
          const targetAbs = target === undefined ? dest : path.join(dest, target);
          const st = fs.lstatSync(targetAbs, { throwIfNoEntry: false });
          if (!st?.isFile() || target === undefined) {
            throw tarError(`tar context hardlink "${h.name}" points to "${h.linkname}", which is not an extracted file`);
          }
          ensureParents(dest, target);
          removeExisting(abs, false);
          fs.linkSync(targetAbs, abs);
          entry.resume();
          break;
        }
        default:
          // Devices, fifos and the like have no place in a build context.
          entry.resume();
      }
    }
  })();
  await Promise.all([pipeline([...stages, extract]), done]);
  // Directory modes and times last: a read-only directory would block its children, and writing children
  // changes the directory's mtime.
  for (const [abs, mode, mtime] of dirModes.reverse()) {
    fs.chmodSync(abs, mode);
    if (mtime) fs.utimesSync(abs, mtime, mtime);
  }
}
