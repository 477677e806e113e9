/**
 * The layer store: every layer unpacked once per machine, by diffID, as a read-only directory in overlayfs's
 * format (src/fs/extract/overlay-layer.ts), shared by all builds and used as overlay lower dirs.
 *
 * Layout under the store root:
 *   <hex>/fs/         the unpacked tree (never written after it is published)
 *   <hex>/meta.json   {diffID, bytes, opaqueDirs}; its mtime is the layer's last use
 *   tmp-<hex>-*       an unpack in progress: published by one rename, so no build sees a layer half done
 *   leases/<pid>-*    the diffIDs a running build uses: eviction spares them while that process lives
 *   trash-*           evicted or losing duplicates, being deleted
 * Bounded: when a build ends, least recently used layers no running build leases are evicted until the
 * store holds at most `maxBytes` of layer content (uncompressed tar size).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { KilnError } from '../errors.ts';
import { markTopDirs } from './top-dirs.ts';
import type { LayerDir } from './snapshot/lower-view.ts';

export interface LayerStoreOptions {
  root: string;
  /** Upper bound of the store's content, in bytes (uncompressed layer size). */
  maxBytes: number;
}

interface LayerMeta {
  diffID: string;
  bytes: number;
  opaqueDirs: string[];
}

const HEX = /^[0-9a-f]{64}$/;

function hexOf(diffID: string): string {
  const hex = diffID.replace(/^sha256:/, '');
  if (!diffID.startsWith('sha256:') || !HEX.test(hex)) throw new KilnError('LAYER_INVALID', `layer diffID ${diffID} is not a sha256 digest`);
  return hex;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LayerStore {
  readonly root: string;
  readonly #maxBytes: number;
  readonly #lease: string;
  readonly #pending = new Map<string, Promise<LayerDir>>();
  /** The root marked as a top directory (top-dirs.ts), on the first unpack: unpacks spread over the disk. */
  #spread: Promise<number> | undefined;

  constructor(options: LayerStoreOptions) {
    this.root = path.resolve(options.root);
    this.#maxBytes = options.maxBytes;
    fs.mkdirSync(path.join(this.root, 'leases'), { recursive: true, mode: 0o700 });
    this.#lease = path.join(this.root, 'leases', `${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /** The layer's directory, unpacked from `open()` (its uncompressed tar) unless the store has it already. */
  get(diffID: string, open: () => Promise<Readable>, label = 'content'): Promise<LayerDir> {
    let pending = this.#pending.get(diffID);
    if (pending === undefined) {
      pending = this.#get(diffID, open, label);
      this.#pending.set(diffID, pending);
      pending.catch(() => this.#pending.delete(diffID));
    }
    return pending;
  }

  async #get(diffID: string, open: () => Promise<Readable>, label: string): Promise<LayerDir> {
    const hex = hexOf(diffID);
    // The lease is written before the layer is looked at: an eviction from then on spares it.
    fs.appendFileSync(this.#lease, `${diffID}\n`);
    const found = this.#read(hex);
    if (found !== undefined) return found;
    await (this.#spread ??= markTopDirs([this.root]));
    const tmp = path.join(this.root, `tmp-${hex}-${process.pid}-${randomBytes(4).toString('hex')}`);
    fs.mkdirSync(path.join(tmp, 'fs'), { recursive: true, mode: 0o755 });
    try {
      const hash = createHash('sha256');
      let bytes = 0;
      const counted = new PassThrough({ highWaterMark: 1 << 20 });
      counted.on('data', (chunk: Buffer) => { hash.update(chunk); bytes += chunk.length; });
      const tar = await open();
      tar.on('error', (err) => counted.destroy(err));
      // Loaded on first unpack: a build whose stages need no base layer (FROM scratch) never loads the extractor.
      const { unpackOverlayLayer } = await import('./extract/overlay-layer.ts');
      const stats = await unpackOverlayLayer(path.join(tmp, 'fs'), tar.pipe(counted));
      const actual = `sha256:${hash.digest('hex')}`;
      // containerd's check, worded as applyLayerBlob words it: the bytes unpacked are the ones the config names.
      if (actual !== diffID) {
        throw new KilnError('LAYER_DIFFID_MISMATCH', `layer ${label} unpacks to ${actual}, but the image config names ${diffID}`, {
          hint: 'the image is corrupt or was tampered with: rebuild or re-push it',
        });
      }
      const meta: LayerMeta = { diffID, bytes, opaqueDirs: stats.opaqueDirs };
      fs.writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify(meta) + '\n');
      try {
        fs.renameSync(tmp, path.join(this.root, hex));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        // Another build published it first: use theirs.
        this.#trash(tmp);
      }
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    const published = this.#read(hex);
    if (published === undefined) throw new KilnError('LAYER_STORE', `layer ${diffID} vanished from the layer store ${this.root}`);
    return published;
  }

  #read(hex: string): LayerDir | undefined {
    const metaFile = path.join(this.root, hex, 'meta.json');
    let meta: LayerMeta;
    try {
      meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as LayerMeta;
    } catch {
      return undefined;
    }
    try {
      const now = new Date();
      fs.utimesSync(metaFile, now, now);
    } catch {
      // Best effort: the last-use time only orders eviction.
    }
    return { dir: path.join(this.root, hex, 'fs'), opaque: new Set(meta.opaqueDirs) };
  }

  #trash(dir: string): string {
    const to = path.join(this.root, `trash-${path.basename(dir)}-${randomBytes(4).toString('hex')}`);
    fs.renameSync(dir, to);
    return to;
  }

  /** diffIDs leased by running builds (this one included until close); stale leases are removed. */
  #leased(): Set<string> {
    const out = new Set<string>();
    const dir = path.join(this.root, 'leases');
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      if (file !== this.#lease && !isAlive(Number(name.split('-')[0]))) {
        fs.rmSync(file, { force: true });
        continue;
      }
      try {
        for (const line of fs.readFileSync(file, 'utf8').split('\n')) if (line !== '') out.add(line);
      } catch {
        // released meanwhile
      }
    }
    return out;
  }

  /**
   * Ends this build's use of the store and evicts least recently used layers above the bound. Returns the
   * directories to delete (evicted layers, trash and dead unpacks left by others): the caller deletes them off
   * the exit path.
   */
  close(): string[] {
    fs.rmSync(this.#lease, { force: true });
    const layers: { hex: string; bytes: number; used: number }[] = [];
    const garbage: string[] = [];
    for (const name of fs.readdirSync(this.root)) {
      const abs = path.join(this.root, name);
      if (name.startsWith('trash-')) garbage.push(abs);
      else if (name.startsWith('tmp-') && !isAlive(Number(name.split('-')[2]))) garbage.push(this.#trash(abs));
      else if (HEX.test(name)) {
        try {
          const metaFile = path.join(abs, 'meta.json');
          const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as LayerMeta;
          layers.push({ hex: name, bytes: meta.bytes, used: fs.statSync(metaFile).mtimeMs });
        } catch {
          // being evicted by another build
        }
      }
    }
    let total = layers.reduce((sum, l) => sum + l.bytes, 0);
    if (total <= this.#maxBytes) return garbage;
    const leased = this.#leased();
    for (const layer of layers.sort((a, b) => a.used - b.used)) {
      if (total <= this.#maxBytes) break;
      if (leased.has(`sha256:${layer.hex}`)) continue;
      try {
        garbage.push(this.#trash(path.join(this.root, layer.hex)));
        total -= layer.bytes;
      } catch {
        // evicted by another build meanwhile
      }
    }
    return garbage;
  }
}
