/**
 * Writing one output file (digest files, --tar-path) where the user pointed it. A regular file or a new path
 * is written atomically (temp sibling + rename), so a failed build leaves the old content or nothing. Anything
 * else is written through, in place: a character device or FIFO (`/dev/stdout`, a pipe to another container),
 * a symlink to one (renaming over `/dev/stdout` would replace the link with a file), and a file that is a mount
 * point (Kubernetes bind-mounts `/dev/termination-log`: rename answers EBUSY there).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

type Chunks = () => AsyncIterable<Buffer> | Iterable<Buffer>;

/** Byte mode with a 1 MiB buffer: in object mode, 16 chunks of a layer blob (16 MiB) waited for the disk. */
function source(chunks: Chunks): Readable {
  return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 << 20 });
}

/** How `file` is to be written: to an open descriptor of Kiln's, or to a path, atomically or not. */
export type OutputTarget = { fd: number } | { path: string; atomic: boolean };

/** `/dev/stdout` → `/proc/self/fd/1`: a descriptor Kiln holds (opening it again fails when it is a socket). */
const OWN_FD = /^\/(?:proc\/self|dev)\/fd\/(\d+)$|^\/dev\/std(out|err)$/;

function ownDescriptor(file: string): number | undefined {
  let current = file;
  for (let hops = 0; hops < 16; hops++) {
    const m = OWN_FD.exec(current);
    if (m) return m[2] === 'out' ? 1 : m[2] === 'err' ? 2 : Number(m[1]);
    let next: string;
    try {
      next = fs.readlinkSync(current);
    } catch {
      return undefined;
    }
    current = path.resolve(path.dirname(current), next);
  }
  return undefined;
}

export function outputTarget(file: string): OutputTarget {
  const fd = ownDescriptor(file);
  if (fd !== undefined) return { fd };
  let link: fs.Stats;
  try {
    link = fs.lstatSync(file);
  } catch {
    return { path: file, atomic: true };
  }
  if (link.isFile()) return { path: file, atomic: true };
  if (!link.isSymbolicLink()) return { path: file, atomic: false };
  try {
    // A symlink to a regular file keeps the link: the file it names is replaced.
    const real = fs.realpathSync(file);
    return { path: real, atomic: fs.statSync(real).isFile() };
  } catch {
    return { path: file, atomic: false };
  }
}

/** Errors that mean "not here by rename": a mount point, a directory the user may not create files in. */
const IN_PLACE_CODES = new Set(['EBUSY', 'EXDEV', 'EACCES', 'EPERM', 'EROFS']);

async function writeThrough(file: string, chunks: Chunks): Promise<void> {
  await pipeline(source(chunks), fs.createWriteStream(file, { flags: 'w' }));
}

/** Writes the stream `chunks()` gives to `file` (see the module comment for how). */
export async function writeOutputFile(file: string, chunks: Chunks): Promise<void> {
  const target = outputTarget(file);
  if ('fd' in target) {
    await pipeline(source(chunks), fs.createWriteStream('', { fd: target.fd, autoClose: false }));
    return;
  }
  if (!target.atomic) return writeThrough(target.path, chunks);
  const tmp = path.join(path.dirname(target.path), `.${path.basename(target.path)}.tmp-${randomBytes(6).toString('hex')}`);
  let stream: fs.WriteStream;
  try {
    stream = fs.createWriteStream(tmp, { flags: 'wx' });
    await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
  } catch (err) {
    if (!writableInPlace(err, target.path)) throw err;
    return writeThrough(target.path, chunks);
  }
  try {
    await pipeline(source(chunks), stream);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  try {
    fs.renameSync(tmp, target.path);
  } catch (err) {
    if (!writableInPlace(err, target.path)) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    try {
      fs.copyFileSync(tmp, target.path);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
}

/** A temp sibling or the rename was refused, but the file itself exists and may take the bytes in place. */
function writableInPlace(err: unknown, file: string): boolean {
  return IN_PLACE_CODES.has((err as NodeJS.ErrnoException).code ?? '') && fs.existsSync(file);
}

/** A small output (a digest, a list of names). */
export function writeOutputText(file: string, text: string): Promise<void> {
  return writeOutputFile(file, () => [Buffer.from(text)]);
}
