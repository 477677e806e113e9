/**
 * One layer unpacked alone into an empty directory in overlayfs's format, to serve as a read-only lower dir:
 * `.wh.<name>` becomes a char 0/0 device `<name>`, `.wh..wh..opq` the xattr `trusted.overlay.opaque=y` on its
 * directory (as Docker's overlay2 driver unpacks layers). Needs root (mknod of whiteouts, trusted.* xattrs).
 *
 * Unlike applying the layer over its parents, nothing below is seen: an entry whose parent is a symlink in a
 * lower layer is not written through it, and parents the layer does not declare get default metadata (0755,
 * root). Layers written by Docker, BuildKit, kaniko and Kiln declare their parent directories.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { KilnError } from '../../errors.ts';
import { applyLayer, type ApplyStats } from './apply-layer.ts';
import { WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './whiteouts.ts';
import { findXattrTools, writeXattrs } from './xattr-writer.ts';
import { readPathXattrs } from '../snapshot/xattrs.ts';

const OPAQUE = 'trusted.overlay.opaque';

export interface OverlayLayerStats extends ApplyStats {
  /** Layer-form paths of the opaque directories. */
  opaqueDirs: string[];
}

/** Keeps argv well below ARG_MAX. */
const BATCH = 500;

/**
 * Makes `rel`'s directory chain real directories inside `root`, creating missing ones; undefined when a
 * component is something else (a whiteout below a file means nothing and is dropped).
 */
function ensureRealDir(root: string, rel: string): string | undefined {
  let dir = root;
  for (const part of rel.split('/').filter((p) => p !== '')) {
    dir = `${dir}/${part}`;
    const st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (st === undefined) fs.mkdirSync(dir, 0o755);
    else if (!st.isDirectory()) return undefined;
  }
  return dir;
}

function makeWhiteouts(paths: readonly string[]): void {
  for (let i = 0; i < paths.length; i += BATCH) {
    const r = spawnSync('sh', ['-c', 'for p; do mknod "$p" c 0 0 || exit 1; done', 'sh', ...paths.slice(i, i + BATCH)], {
      encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (r.status !== 0) unsupported(`cannot create overlay whiteouts: ${r.error?.message ?? r.stderr.trim()}`);
  }
}

/** The store's filesystem cannot hold overlay lower dirs (e.g. itself an overlayfs): the stage is laid out instead. */
function unsupported(why: string): never {
  throw new KilnError('LAYER_OVERLAY_UNSUPPORTED', `layer cannot be an overlay lower dir: ${why}`, {
    hint: 'put the layer store on a local filesystem with KILN_LAYER_STORE=DIR, or turn it off with KILN_LAYER_STORE=off',
  });
}

/** Unpacks an uncompressed layer tar into `dir` (empty) in overlayfs's lower-dir format. */
export async function unpackOverlayLayer(dir: string, tar: Readable): Promise<OverlayLayerStats> {
  const whiteouts: string[] = [];
  const opaque: string[] = [];
  const stats = await applyLayer(dir, tar, {
    onEntry: (rel) => {
      const slash = rel.lastIndexOf('/');
      const parent = slash < 0 ? '' : rel.slice(0, slash);
      const base = rel.slice(slash + 1);
      if (!base.startsWith(WHITEOUT_PREFIX) || parent.split('/').some((p) => p.startsWith(WHITEOUT_META_PREFIX))) return;
      if (base === WHITEOUT_OPAQUE) opaque.push(parent);
      else if (!base.startsWith(WHITEOUT_META_PREFIX)) whiteouts.push(parent === '' ? base.slice(WHITEOUT_PREFIX.length) : `${parent}/${base.slice(WHITEOUT_PREFIX.length)}`);
    },
  });
  const nodes: string[] = [];
  for (const rel of whiteouts) {
    const slash = rel.lastIndexOf('/');
    const parent = ensureRealDir(dir, slash < 0 ? '' : rel.slice(0, slash));
    const target = `${parent}/${rel.slice(slash + 1)}`;
    if (parent !== undefined && fs.lstatSync(target, { throwIfNoEntry: false }) === undefined) nodes.push(target);
  }
  makeWhiteouts(nodes);
  for (const node of nodes) {
    const st = fs.lstatSync(node);
    if (!st.isCharacterDevice() || st.rdev !== 0) unsupported(`whiteout ${node} is not a 0/0 device on this filesystem`);
  }
  if (opaque.includes('')) {
    // overlayfs cannot take an opaque layer root; the caller lays the stage out in one directory instead.
    throw new KilnError('LAYER_OVERLAY_UNSUPPORTED', 'layer hides its whole lower filesystem (opaque root), which an overlay lower dir cannot express');
  }
  const opaqueDirs = [...new Set(opaque)].filter((rel) => rel !== '' && ensureRealDir(dir, rel) !== undefined);
  const tools = findXattrTools();
  if (opaqueDirs.length > 0 && tools.setfattr === undefined) unsupported('setfattr (package attr) is not installed to mark opaque directories');
  try {
    writeXattrs(opaqueDirs.map((rel) => ({ path: `${dir}/${rel}`, isSymlink: false, name: OPAQUE, value: Buffer.from('y') })), tools, () => {});
  } catch (err) {
    unsupported((err as Error).message);
  }
  // Read back: a filesystem may drop trusted.* xattrs without failing, and overlayfs would then show hidden files.
  const written = readPathXattrs(dir, opaqueDirs, (name) => name === OPAQUE);
  const missing = opaqueDirs.find((rel) => written.get(rel)?.[OPAQUE]?.toString() !== 'y');
  if (missing !== undefined) unsupported(`${OPAQUE} did not stick on /${missing}`);
  return { ...stats, opaqueDirs };
}
