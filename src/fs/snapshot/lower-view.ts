/**
 * What an overlay's lower side looks like to the snapshot: one plain directory (a materialised rootfs), or a
 * stack of layer directories in overlayfs's own format (char 0/0 whiteouts, opaque directories), topmost first,
 * merged the way overlayfs merges them:
 * - a name is taken from the topmost layer holding it; a whiteout there hides it and every lower one;
 * - a directory merges with the same-named directories below it, down to the first layer where the name is not
 *   a directory, or where the directory is opaque (that layer is the last one merged).
 * Opaque directories are given per layer (Node cannot read xattrs cheaply): the store records them when it
 * unpacks a layer, a step's snapshot when it reads the upper dir.
 */
import * as fs from 'node:fs';
import type { XattrMap } from '../layer/xattrs.ts';
import { hostPath, parentOf } from './paths.ts';
import { readPathXattrs } from './xattrs.ts';

export interface LowerEntry {
  /** Host path of the entry in the layer that provides it. */
  path: string;
  st: fs.Stats;
}

export interface LowerView {
  /** The entry at `rel` (layer form) as the merged lower shows it; undefined when absent or whited out. */
  lookup(rel: string): LowerEntry | undefined;
  /** Names the merged lower directory `rel` holds (whited-out names left out). */
  names(rel: string): string[];
  /** Layer xattrs (overlay names dropped) of these paths, each read in the layer that provides it. */
  xattrs(rels: readonly string[]): XattrMap;
}

export interface LayerDir {
  /** The layer's tree. */
  dir: string;
  /** Layer-form paths of its opaque directories. */
  opaque: ReadonlySet<string>;
}

/** A char 0/0 device: overlayfs's deletion marker. */
function isWhiteoutStat(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  return fs.lstatSync(p, { throwIfNoEntry: false }) ?? undefined;
}

/** A plain directory as the lower side. */
export function directoryLower(root: string): LowerView {
  return {
    lookup(rel) {
      const p = hostPath(root, rel);
      const st = lstatOrUndefined(p);
      return st === undefined ? undefined : { path: p, st };
    },
    names: (rel) => fs.readdirSync(hostPath(root, rel)),
    xattrs: (rels) => readPathXattrs(root, rels),
  };
}

/** A stack of layer directories (topmost first) as the lower side. */
export function stackedLower(layers: readonly LayerDir[]): LowerView {
  const dirs = new Map<string, readonly LayerDir[] | undefined>();
  dirs.set('', layers);
  /** The layers whose directory `rel` makes up the merged directory; undefined when `rel` is no directory. */
  const dirLayers = (rel: string): readonly LayerDir[] | undefined => {
    if (dirs.has(rel)) return dirs.get(rel);
    const parent = dirLayers(parentOf(rel));
    let merged: LayerDir[] | undefined;
    for (const layer of parent ?? []) {
      const st = lstatOrUndefined(hostPath(layer.dir, rel));
      if (st === undefined) continue;
      if (!st.isDirectory()) break;
      (merged ??= []).push(layer);
      if (layer.opaque.has(rel)) break;
    }
    dirs.set(rel, merged);
    return merged;
  };
  const lookup = (rel: string): LowerEntry | undefined => {
    if (rel === '') return layers.length === 0 ? undefined : { path: layers[0].dir, st: fs.lstatSync(layers[0].dir) };
    for (const layer of dirLayers(parentOf(rel)) ?? []) {
      const p = hostPath(layer.dir, rel);
      const st = lstatOrUndefined(p);
      if (st === undefined) continue;
      return isWhiteoutStat(st) ? undefined : { path: p, st };
    }
    return undefined;
  };
  return {
    lookup,
    names(rel) {
      const seen = new Set<string>();
      const out: string[] = [];
      for (const layer of dirLayers(rel) ?? []) {
        for (const d of fs.readdirSync(hostPath(layer.dir, rel), { withFileTypes: true })) {
          if (seen.has(d.name)) continue;
          seen.add(d.name);
          if (d.isCharacterDevice() && isWhiteoutStat(fs.lstatSync(hostPath(layer.dir, rel === '' ? d.name : `${rel}/${d.name}`)))) continue;
          out.push(d.name);
        }
      }
      return out;
    },
    xattrs(rels) {
      const byLayer = new Map<string, string[]>();
      for (const rel of rels) {
        const found = lookup(rel);
        if (found === undefined) continue;
        const layer = layers.find((l) => found.path === hostPath(l.dir, rel))!;
        const list = byLayer.get(layer.dir) ?? [];
        list.push(rel);
        byLayer.set(layer.dir, list);
      }
      const out: XattrMap = new Map();
      for (const [dir, list] of byLayer) for (const [rel, attrs] of readPathXattrs(dir, list)) out.set(rel, attrs);
      return out;
    },
  };
}
