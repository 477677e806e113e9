/**
 * In-place builds replace `/` of the machine Kiln runs on. They run only where that is meant to happen:
 * - `KILN_IN_PLACE_CONFIRMED=1` (whoever set up the jail or container says so), or
 * - inside a container (/.dockerenv, /run/.containerenv, $container, a Kubernetes pod, a container cgroup of
 *   pid 1) AND Kiln installed the kaniko way: its code inside the kaniko dir (`/kaniko`, --kaniko-dir,
 *   $KANIKO_DIR), as in an image made for in-place builds.
 * A container alone is not enough: development machines and CI runners are often containers themselves.
 */
import path from 'node:path';
import { KilnError } from '../../errors.ts';

export interface GuardProbe {
  env: NodeJS.ProcessEnv;
  exists(file: string): boolean;
  readFile(file: string): string | undefined;
  /** Directory Kiln's code runs from (realpath). */
  codeDir: string;
  /** The kaniko dir (realpath when it exists). */
  kanikoDir: string;
}

const CONTAINER_CGROUP = /docker|kubepods|containerd|libpod|crio|lxc/;

export function containerHint(probe: GuardProbe): string | undefined {
  if (probe.exists('/.dockerenv')) return '/.dockerenv';
  if (probe.exists('/run/.containerenv')) return '/run/.containerenv';
  if (probe.env.container) return `$container=${probe.env.container}`;
  if (probe.env.KUBERNETES_SERVICE_HOST) return 'a Kubernetes pod';
  if (CONTAINER_CGROUP.test(probe.readFile('/proc/1/cgroup') ?? '')) return "pid 1's cgroup";
  return undefined;
}

function isInside(dir: string, parent: string): boolean {
  const rel = path.relative(parent, dir);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Why an in-place build must not run here; undefined when it may. */
export function inPlaceRefusal(probe: GuardProbe): string | undefined {
  if (probe.env.KILN_IN_PLACE_CONFIRMED === '1') return undefined;
  const container = containerHint(probe);
  if (container === undefined) return 'this does not look like a container';
  if (!isInside(probe.codeDir, probe.kanikoDir)) {
    return `Kiln runs from ${probe.codeDir}, not from inside the kaniko dir ${probe.kanikoDir}`;
  }
  return undefined;
}

export function assertInPlaceAllowed(probe: GuardProbe): void {
  const reason = inPlaceRefusal(probe);
  if (reason === undefined) return;
  throw new KilnError('IN_PLACE_REFUSED', `--isolation=none builds on / and deletes its files; refusing: ${reason}`, {
    exitCode: 2,
    hint: 'run it only in a throwaway container or jail: install Kiln inside the kaniko dir (--kaniko-dir / KANIKO_DIR), or set KILN_IN_PLACE_CONFIRMED=1',
  });
}
