/**
 * The one writer of OCI image layouts (build outputs, the base-image cache, the layer cache). A new layout
 * is assembled in a temp directory next to the target and renamed into place; an existing layout gets the
 * missing blobs (each renamed into place once verified) and then a new index.json, read, changed and
 * replaced by rename under the layout's lock (layout-lock.ts), so concurrent writers never lose an entry.
 * A failure leaves no half-written state behind: at worst unreferenced, complete blobs.
 */
import { writeFileAtomic } from '../fs/write-file-atomic.ts';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KilnError } from '../errors.ts';
import { BlobStore } from './blob-store.ts';
import { canonicalJson } from './canonical-json.ts';
import { digestHex } from './digest.ts';
import { verifiedStream, type ImageBlob } from './image-blobs.ts';
import { artifactBlobs, artifactDescriptor, type BuildArtifact } from './platform-index.ts';
import { withIndexLock } from './layout-lock.ts';
import { REF_NAME_ANNOTATION } from './select-image.ts';
import { MediaType, type Descriptor, type IndexManifest, type Platform } from './types.ts';

export interface OciLayoutWriteOptions {
  /** Stored as the `org.opencontainers.image.ref.name` annotation; replaces an entry with the same name. */
  refName?: string;
  /** Further annotations for the index entry. */
  annotations?: Record<string, string>;
  /** The index entry's `platform`. */
  platform?: Platform;
  /** Which existing entries the new one replaces (default: the same ref name; without one, the same digest). */
  replaces?: (existing: Descriptor) => boolean;
}

const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });
/** What a layout directory may hold besides dot files (temp files, the lock). */
const LAYOUT_NAMES = new Set(['oci-layout', 'index.json', 'index.json.lock', 'blobs']);

function tempSibling(target: string): string {
  return path.join(path.dirname(path.resolve(target)), `.${path.basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
}

function isLayout(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'oci-layout')) && fs.existsSync(path.join(dir, 'index.json'));
}

/** Whether `dir` holds something other than (parts of) a layout. */
export function isForeignDir(dir: string): boolean {
  return fs.existsSync(dir) && !isLayout(dir) && fs.readdirSync(dir).some((n) => !LAYOUT_NAMES.has(n) && !n.startsWith('.'));
}

/**
 * A hard link to a local blob file instead of a copy (the build's blob store, a cache or base layout on the
 * same filesystem): blob files are never changed in place, only created by rename, so sharing the inode is
 * safe. False when the file is not there, has another size, or cannot be linked (another filesystem).
 */
function linkBlob(store: BlobStore, blob: ImageBlob): boolean {
  if (blob.file === undefined) return false;
  try {
    if (fs.statSync(blob.file).size !== blob.size) return false;
    fs.mkdirSync(path.dirname(store.blobPath(blob.digest)), { recursive: true });
    fs.linkSync(blob.file, store.blobPath(blob.digest));
    return true;
  } catch {
    return false;
  }
}

/** Writes the image's (or index's) blobs into `staging/sha256`, skipping those `existingBlobPath` shows present. */
async function writeBlobs(image: BuildArtifact, staging: string, existingBlobPath?: (hex: string) => string): Promise<string[]> {
  const store = new BlobStore(staging);
  const written: string[] = [];
  for (const blob of await artifactBlobs(image)) {
    if (existingBlobPath && fs.existsSync(existingBlobPath(digestHex(blob.digest)))) continue;
    if (store.has(blob.digest)) continue;
    if (!linkBlob(store, blob)) await store.write(verifiedStream(blob), blob.digest);
    written.push(digestHex(blob.digest));
  }
  fs.rmSync(path.join(staging, 'tmp'), { recursive: true, force: true });
  return written;
}

function defaultReplaces(entry: Descriptor, refName: string | undefined): (d: Descriptor) => boolean {
  if (refName !== undefined) return (d) => d.annotations?.[REF_NAME_ANNOTATION] === refName;
  return (d) => d.digest === entry.digest && !d.annotations?.[REF_NAME_ANNOTATION];
}

function indexWith(existing: IndexManifest | undefined, entry: Descriptor, replaces: (d: Descriptor) => boolean): IndexManifest {
  return {
    ...(existing ?? {}),
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [...(existing?.manifests ?? []).filter((d) => !replaces(d)), entry],
  };
}

function readIndex(dir: string): IndexManifest | undefined {
  const file = path.join(dir, 'index.json');
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as IndexManifest;
  } catch (err) {
    throw new KilnError('NOT_OCI_LAYOUT', `${file} is not valid JSON`, { cause: err, hint: `repair or remove ${dir}` });
  }
}

/** A new layout, assembled aside and renamed into place; false when another writer created `dir` first. */
async function createLayout(dir: string, image: BuildArtifact, entry: Descriptor, replaces: (d: Descriptor) => boolean): Promise<boolean> {
  const staging = tempSibling(dir);
  try {
    await writeBlobs(image, path.join(staging, 'blobs'));
    fs.writeFileSync(path.join(staging, 'oci-layout'), LAYOUT_FILE);
    fs.writeFileSync(path.join(staging, 'index.json'), canonicalJson(indexWith(undefined, entry, replaces), 'index'));
    if (fs.existsSync(dir)) {
      try {
        fs.rmdirSync(dir);
      } catch {
        return false;
      }
    }
    try {
      fs.renameSync(staging, dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
      throw err;
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Adds the missing blobs to an existing layout, then the entry to its index under the lock. */
async function addToLayout(dir: string, image: BuildArtifact, entry: Descriptor, replaces: (d: Descriptor) => boolean): Promise<void> {
  // Staged inside the layout, so each blob's rename stays on its filesystem (a layout is often a mounted volume).
  const staging = path.join(dir, `.blobs.tmp-${randomBytes(6).toString('hex')}`);
  try {
    const target = (hex: string): string => path.join(dir, 'blobs', 'sha256', hex);
    const written = await writeBlobs(image, staging, target);
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    for (const hex of written) fs.renameSync(path.join(staging, 'sha256', hex), target(hex));
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  if (!fs.existsSync(path.join(dir, 'oci-layout'))) writeFileAtomic(path.join(dir, 'oci-layout'), LAYOUT_FILE);
  await withIndexLock(dir, () => {
    writeFileAtomic(path.join(dir, 'index.json'), canonicalJson(indexWith(readIndex(dir), entry, replaces), 'index'));
  });
}

/** Adds `image` (or an image index and its images) to the OCI layout at `dir` (created if missing). Returns the index entry. */
export async function writeOciLayout(dir: string, image: BuildArtifact, options: OciLayoutWriteOptions = {}): Promise<Descriptor> {
  const annotations = { ...(options.annotations ?? {}), ...(options.refName !== undefined ? { [REF_NAME_ANNOTATION]: options.refName } : {}) };
  const entry: Descriptor = {
    ...(await artifactDescriptor(image)),
    ...(options.platform ? { platform: options.platform } : {}),
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
  if (isForeignDir(dir)) {
    throw new KilnError('NOT_OCI_LAYOUT', `${dir} exists and is not an OCI image layout`, {
      hint: 'choose an empty or missing directory, or an existing layout',
    });
  }
  const replaces = options.replaces ?? defaultReplaces(entry, options.refName);
  if (!isLayout(dir) && (!fs.existsSync(dir) || fs.readdirSync(dir).length === 0)) {
    if (await createLayout(dir, image, entry, replaces)) return entry;
  }
  await addToLayout(dir, image, entry, replaces);
  return entry;
}
