/** Reading what the layer cache tests check: files of a built OCI layout, a cache layout's entries, step logs. */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { baseImageLayout } from '../../env/base-images.ts';

export async function busyboxSource(): Promise<string[]> {
  return ['--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`];
}

function blob(layout: string, digest: string): Buffer {
  return fs.readFileSync(path.join(layout, 'blobs', 'sha256', digest.split(':')[1]));
}

/** The manifest of the layout's only (or first) image. */
export function layoutManifest(layout: string): { layers: { digest: string }[]; config: { digest: string } } {
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
  return JSON.parse(blob(layout, index.manifests[0].digest).toString());
}

async function entriesOf(gz: Buffer): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.set(header.name.replace(/^\.?\/+/, ''), Buffer.concat(chunks).toString());
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(zlib.gunzipSync(gz));
  await done;
  return out;
}

/** A file's content in the built image (the top layer that holds it), undefined if none does. */
export async function fileInImage(layout: string, file: string): Promise<string | undefined> {
  const layers = layoutManifest(layout).layers;
  for (let i = layers.length - 1; i >= 0; i--) {
    const content = (await entriesOf(blob(layout, layers[i].digest))).get(file.replace(/^\/+/, ''));
    if (content !== undefined) return content;
  }
  return undefined;
}

/** Ref names of a cache layout's entries. */
export function cacheEntries(cacheDir: string): string[] {
  if (!fs.existsSync(path.join(cacheDir, 'index.json'))) return [];
  const index = JSON.parse(fs.readFileSync(path.join(cacheDir, 'index.json'), 'utf8'));
  return index.manifests.map((d: { annotations?: Record<string, string> }) => d.annotations?.['org.opencontainers.image.ref.name']);
}

/** Step lines of a build's log: "STEP 3/5: done (CACHED)" → { 3: 'cached' }, "done in" → 'ran'. */
export function stepOutcomes(log: string): Record<number, 'cached' | 'ran'> {
  const out: Record<number, 'cached' | 'ran'> = {};
  for (const m of log.matchAll(/STEP (\d+)\/\d+: done( \(CACHED\))? in/g)) out[Number(m[1])] = m[2] ? 'cached' : 'ran';
  return out;
}
