/** Reading an OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { KilnError } from '../errors.ts';
import { digestHex } from './digest.ts';
import { BlobIndex, verifiedBlob, type BlobSource } from './manifest-image.ts';
import { selectImage, type ImageSelector } from './select-image.ts';
import type { Digest, Image } from './types.ts';

export function ociBlobPath(dir: string, digest: Digest): string {
  return path.join(dir, 'blobs', 'sha256', digestHex(digest));
}

export function ociLayoutSource(dir: string): BlobSource {
  return {
    name: `OCI layout ${dir}`,
    readJson: (digest) => {
      const file = ociBlobPath(dir, digest);
      if (!fs.existsSync(file)) throw new KilnError('BLOB_NOT_FOUND', `OCI layout ${dir} has no blob ${digest}`);
      return verifiedBlob(fs.readFileSync(file), digest, `OCI layout ${dir}`);
    },
    open: (digest): Readable => fs.createReadStream(ociBlobPath(dir, digest), { highWaterMark: 1 << 20 }),
    file: (digest) => ociBlobPath(dir, digest),
  };
}

/** The layout's index.json as an ImageIndex. */
export function readOciLayout(dir: string): BlobIndex {
  const layoutFile = path.join(dir, 'oci-layout');
  const indexFile = path.join(dir, 'index.json');
  if (!fs.existsSync(layoutFile) || !fs.existsSync(indexFile)) {
    throw new KilnError('NOT_OCI_LAYOUT', `${dir} is not an OCI image layout`, { hint: 'expected oci-layout and index.json' });
  }
  return new BlobIndex(ociLayoutSource(dir), fs.readFileSync(indexFile));
}

/** One image of a layout, chosen by ref name, digest or platform. */
export function ociLayoutImage(dir: string, select: ImageSelector = {}): Promise<Image> {
  return selectImage(readOciLayout(dir), select, `OCI layout ${dir}`);
}
