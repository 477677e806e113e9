/**
 * Writing an image into an OCI image layout. A new layout is assembled in a temp directory next to the
 * target and renamed into place; an existing layout gets the missing blobs (each renamed into place once
 * verified) and then a new index.json by rename. Either way a failure leaves no half-written state behind:
 * at worst unreferenced, complete blobs.
 */
import { writeFileAtomic } from '../fs/write-file-atomic.ts';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KilnError } from '../errors.ts';
import { BlobStore } from './blob-store.ts';
import { canonicalJson } from './canonical-json.ts';
import { digestHex } from './digest.ts';
import { imageBlobs, verifiedStream } from './image-blobs.ts';
import { REF_NAME_ANNOTATION } from './select-image.ts';
import { MediaType, type Descriptor, type Image, type IndexManifest } from './types.ts';

export interface OciLayoutWriteOptions {
  /** Stored as the `org.opencontainers.image.ref.name` annotation; replaces an entry with the same name. */
  refName?: string;
  /** Further annotations for the index entry. */
  annotations?: Record<string, string>;
}

const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });

function tempSibling(target: string): string {
  return path.join(path.dirname(path.resolve(target)), `.${path.basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
}

function isLayout(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'oci-layout')) && fs.existsSync(path.join(dir, 'index.json'));
}

/** Writes the image's blobs into `blobsDir/sha256`, skipping those present in `existing`. */
async function writeBlobs(image: Image, staging: string, existingBlobPath?: (hex: string) => string): Promise<string[]> {
  const store = new BlobStore(staging);
  const { config, layers, manifest } = await imageBlobs(image);
  const written: string[] = [];
  for (const blob of [config, ...layers, manifest]) {
    if (existingBlobPath && fs.existsSync(existingBlobPath(digestHex(blob.digest)))) continue;
    if (store.has(blob.digest)) continue;
    await store.write(verifiedStream(blob), blob.digest);
    written.push(digestHex(blob.digest));
  }
  fs.rmSync(path.join(staging, 'tmp'), { recursive: true, force: true });
  return written;
}

function indexWith(existing: IndexManifest | undefined, entry: Descriptor, refName: string | undefined): IndexManifest {
  const others = (existing?.manifests ?? []).filter((d) => {
    if (refName !== undefined) return d.annotations?.[REF_NAME_ANNOTATION] !== refName;
    return !(d.digest === entry.digest && !d.annotations?.[REF_NAME_ANNOTATION]);
  });
  return {
    ...(existing ?? {}),
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [...others, entry],
  };
}

/** Adds `image` to the OCI layout at `dir` (created if missing). Returns the index entry. */
export async function writeOciLayout(dir: string, image: Image, options: OciLayoutWriteOptions = {}): Promise<Descriptor> {
  const annotations = { ...(options.annotations ?? {}), ...(options.refName !== undefined ? { [REF_NAME_ANNOTATION]: options.refName } : {}) };
  const entry: Descriptor = {
    mediaType: await image.mediaType(),
    digest: await image.digest(),
    size: (await image.rawManifest()).length,
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
  const exists = fs.existsSync(dir);
  if (exists && !isLayout(dir) && fs.readdirSync(dir).length > 0) {
    throw new KilnError('NOT_OCI_LAYOUT', `${dir} exists and is not an OCI image layout`, {
      hint: 'choose an empty or missing directory, or an existing layout',
    });
  }
  const staging = tempSibling(dir);
  try {
    if (!exists || !isLayout(dir)) {
      const blobs = path.join(staging, 'blobs');
      await writeBlobs(image, blobs);
      fs.writeFileSync(path.join(staging, 'oci-layout'), LAYOUT_FILE);
      fs.writeFileSync(path.join(staging, 'index.json'), canonicalJson(indexWith(undefined, entry, options.refName), 'index'));
      if (exists) fs.rmdirSync(dir);
      fs.renameSync(staging, dir);
      return entry;
    }
    const target = (hex: string): string => path.join(dir, 'blobs', 'sha256', hex);
    const written = await writeBlobs(image, staging, target);
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    for (const hex of written) fs.renameSync(path.join(staging, 'sha256', hex), target(hex));
    const current = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as IndexManifest;
    writeFileAtomic(path.join(dir, 'index.json'), canonicalJson(indexWith(current, entry, options.refName), 'index'));
    return entry;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
