/** Reads what an image in an OCI layout written by `--oci-layout-path` holds: digests and layer entries. */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';

export interface LayerEntry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  content?: string;
}

function blob(layout: string, digest: string): Buffer {
  return fs.readFileSync(path.join(layout, 'blobs', ...digest.split(':')));
}

export function manifestDigest(layout: string): string {
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  return index.manifests[0]!.digest;
}

/** Every layer's entries, later layers over earlier ones, keyed by path without a leading "./" or "/". */
export async function imageFiles(layout: string): Promise<Map<string, LayerEntry>> {
  const manifest = JSON.parse(blob(layout, manifestDigest(layout)).toString()) as { layers: { digest: string }[] };
  const files = new Map<string, LayerEntry>();
  for (const layer of manifest.layers) {
    const extract = tar.extract();
    const done = (async () => {
      for await (const entry of extract) {
        const h = entry.header;
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        files.set(h.name.replace(/^(\.\/|\/)+/, '').replace(/\/$/, ''), {
          type: h.type ?? 'file', mode: (h.mode ?? 0) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0,
          mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0,
          ...(h.type === 'file' ? { content: Buffer.concat(chunks).toString() } : {}),
        });
      }
    })();
    Readable.from([zlib.gunzipSync(blob(layout, layer.digest))]).pipe(extract);
    await done;
  }
  return files;
}

/** All bytes of the layout, layers decompressed: for "this secret appears nowhere in the image". */
export function allImageBytes(layout: string): string {
  const parts: string[] = [];
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else {
        const data = fs.readFileSync(p);
        parts.push(data[0] === 0x1f && data[1] === 0x8b ? zlib.gunzipSync(data).toString('latin1') : data.toString('latin1'));
      }
    }
  };
  walk(layout);
  return parts.join('\n');
}
