/** Layer-form path helpers shared by the snapshotters: ignore sets, parents, host paths. */
import { layerPath } from '../tar-entry.ts';

/** Cleaned layer-form paths ("/proc/" → "proc"); the root itself cannot be ignored. */
export function pathSet(paths: readonly string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const p of paths ?? []) {
    const clean = layerPath(p);
    if (clean !== '') out.add(clean);
  }
  return out;
}

/** Whether `rel` or one of its ancestors is in `set`. */
export function isUnder(set: ReadonlySet<string>, rel: string): boolean {
  if (set.size === 0) return false;
  if (set.has(rel)) return true;
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) {
    if (set.has(rel.slice(0, i))) return true;
  }
  return false;
}

/** "a/b/c" → "a/b"; "a" → "". */
export function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

/** Host path of a layer-form path under `root`. */
export function hostPath(root: string, rel: string): string {
  if (rel === '') return root;
  return root === '/' ? `/${rel}` : `${root}/${rel}`;
}

export function childPath(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}
