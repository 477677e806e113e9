/** Small trees on disk for the copy tests: build one from a spec, and describe one back. */
import { chmodSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type SpecEntry =
  | { dir: number; uid?: number; gid?: number }
  | { file: string; mode: number; uid?: number; gid?: number }
  | { link: string };

/** Creates `root` entries in order (parents before children); modes are set explicitly. */
export function makeTree(root: string, spec: Record<string, SpecEntry>): void {
  for (const [path, entry] of Object.entries(spec)) {
    const host = join(root, path);
    mkdirSync(dirname(host), { recursive: true });
    if ('link' in entry) {
      symlinkSync(entry.link, host);
      continue;
    }
    if ('dir' in entry) mkdirSync(host, { recursive: true });
    else writeFileSync(host, entry.file);
    // Owner before mode: a chown clears setuid/setgid.
    if (entry.uid !== undefined || entry.gid !== undefined) lchownSync(host, entry.uid ?? 0, entry.gid ?? 0);
    chmodSync(host, 'dir' in entry ? entry.dir : entry.mode);
  }
}

export interface Described {
  type: 'dir' | 'file' | 'symlink' | 'fifo' | 'other';
  mode: string;
  uid: number;
  gid: number;
  content?: string;
  target?: string;
  ino: number;
}

/** Every entry below `root`, keyed by '/'-rooted path. */
export function describeTree(root: string): Record<string, Described> {
  const out: Record<string, Described> = {};
  const walk = (host: string, rel: string): void => {
    for (const name of readdirSync(host).sort()) {
      const childHost = join(host, name);
      const childRel = `${rel}/${name}`;
      const stats = lstatSync(childHost);
      const entry: Described = {
        type: stats.isDirectory() ? 'dir' : stats.isFile() ? 'file' : stats.isSymbolicLink() ? 'symlink' : stats.isFIFO() ? 'fifo' : 'other',
        mode: (stats.mode & 0o7777).toString(8).padStart(4, '0'),
        uid: stats.uid,
        gid: stats.gid,
        ino: stats.ino,
      };
      if (stats.isFile()) entry.content = readFileSync(childHost, 'utf8');
      if (stats.isSymbolicLink()) entry.target = readlinkSync(childHost);
      out[childRel] = entry;
      if (stats.isDirectory()) walk(childHost, childRel);
    }
  };
  walk(root, '');
  return out;
}

/** The entries reduced to `type mode uid:gid [content|-> target]` lines, for compact assertions. */
export function summarize(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, e] of Object.entries(describeTree(root))) {
    const extra = e.type === 'file' ? ` ${e.content}` : e.type === 'symlink' ? ` -> ${e.target}` : '';
    out[path] = `${e.type} ${e.mode} ${e.uid}:${e.gid}${extra}`;
  }
  return out;
}

/** A fresh temp dir removed when the test ends. */
export function tempDir(t: { after: (fn: () => void) => void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `kiln-${prefix}-`));
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
