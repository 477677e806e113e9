/**
 * kaniko's ignore list (pkg/util/fs_util.go) for in-place builds: paths of `/` that a build neither
 * extracts into, deletes, nor snapshots — Kiln's own directories, the container's mount points, /var/run
 * (unless --ignore-var-run=false) and every --ignore-path. Paths are absolute as seen inside the root.
 * Unlike kaniko's package-global list, one value per build, passed explicitly.
 */
import path from 'node:path';
import type { ProtectedPaths } from '../../fs/extract/protected-paths.ts';

export class IgnoreList implements ProtectedPaths {
  readonly paths: readonly string[];
  readonly #set: ReadonlySet<string>;

  constructor(paths: Iterable<string>) {
    const clean = new Set<string>();
    for (const p of paths) {
      const c = path.posix.resolve('/', p);
      if (c !== '/') clean.add(c);
    }
    this.paths = [...clean].sort();
    this.#set = clean;
  }

  isProtected(p: string): boolean {
    const c = path.posix.resolve('/', p);
    if (this.#set.has(c)) return true;
    for (let i = c.indexOf('/', 1); i > 0; i = c.indexOf('/', i + 1)) {
      if (this.#set.has(c.slice(0, i))) return true;
    }
    return false;
  }

  holdsProtected(p: string): boolean {
    return this.below(p).length > 0;
  }

  /** Ignored paths strictly below `p`. */
  below(p: string): string[] {
    const c = path.posix.resolve('/', p);
    const prefix = c === '/' ? '/' : c + '/';
    return this.paths.filter((q) => q.startsWith(prefix));
  }
}

/** Mount points of /proc/self/mountinfo (field 5, octal escapes decoded), the root itself left out. */
export function mountPoints(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 5) continue;
    const point = fields[4].replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    if (point !== '/') out.push(point);
  }
  return out;
}

export interface InPlaceIgnoreInputs {
  /** Kiln's own directories and files: kaniko dir, work dir, code dir, node binary, inputs and outputs. */
  kilnPaths: readonly string[];
  ignoreVarRun: boolean;
  /** --ignore-path values. */
  ignorePaths: readonly string[];
  /** Contents of /proc/self/mountinfo. */
  mountinfo: string;
}

/** kernel filesystems are ignored even when not mounted (kaniko gets them from mountinfo). */
const ALWAYS = ['/proc', '/sys', '/dev'];
/** kaniko's default list: there is no telling whether /etc/mtab came from the image or the runtime. */
const KANIKO_DEFAULTS = ['/etc/mtab'];

export function inPlaceIgnoreList(inputs: InPlaceIgnoreInputs): IgnoreList {
  return new IgnoreList([
    ...ALWAYS, ...KANIKO_DEFAULTS, ...inputs.kilnPaths,
    ...(inputs.ignoreVarRun ? ['/var/run'] : []),
    ...inputs.ignorePaths,
    ...mountPoints(inputs.mountinfo),
  ]);
}
