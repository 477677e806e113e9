/**
 * Readying a step's overlay upper dir to serve, as it is, as the next lower dir of the stage: the same paths
 * `applyUpperToLower` keeps out of a rootfs are removed from it, so the stack stays equal to "previous
 * layers + this step's layer": ignored subtrees (kernel filesystems, RUN mount targets, --ignore-path) go
 * whole; mount stubs go (a stub directory only when nothing real was written below it). Never follows a
 * symlink: a path whose parent in the upper dir is no real directory is not in the upper dir.
 */
import * as fs from 'node:fs';
import { pathSet } from './paths.ts';

export interface PruneUpperOptions {
  exclude?: readonly string[];
  ignorePaths?: readonly string[];
}

/** Host path of `rel` in `root` when every parent is a real directory; undefined otherwise or when absent. */
function findInUpper(root: string, rel: string): { path: string; st: fs.Stats } | undefined {
  const parts = rel.split('/');
  let dir = root;
  for (const [i, part] of parts.entries()) {
    const p = `${dir}/${part}`;
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st === undefined) return undefined;
    if (i === parts.length - 1) return { path: p, st };
    if (!st.isDirectory()) return undefined;
    dir = p;
  }
  return undefined;
}

export function pruneUpper(upper: string, options: PruneUpperOptions): void {
  for (const rel of pathSet(options.ignorePaths)) {
    const found = findInUpper(upper, rel);
    if (found !== undefined) fs.rmSync(found.path, { recursive: true, force: true });
  }
  // Deepest first: a stub directory holding only stubs empties before it is looked at.
  const stubs = [...pathSet(options.exclude)].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const rel of stubs) {
    const found = findInUpper(upper, rel);
    if (found === undefined) continue;
    if (!found.st.isDirectory()) {
      fs.unlinkSync(found.path);
      continue;
    }
    try {
      fs.rmdirSync(found.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err;
    }
  }
}
