/** What `--isolation=auto` means on this machine: probed once per process with the same host tools a step uses. */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { perlCommand } from '../bundled-tools.ts';
import { userNamespaceEntry } from './step-process.ts';
import type { ResolvedIsolation } from './types.ts';

const toolPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function succeeds(command: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', env: { PATH: toolPath } });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

const namespaces = ['unshare', '--mount', '--pid', '--ipc', '--uts', '--fork', '--'];

/** argv prefix running what follows in the namespaces a step of `isolation` gets. */
function inNamespaces(isolation: 'namespace' | 'userns'): [string, string[]] {
  if (isolation === 'namespace') return ['unshare', namespaces.slice(1)];
  const [perl, ...entry] = userNamespaceEntry();
  return [perl as string, [...entry, ...namespaces]];
}

/**
 * namespace when a private mount namespace can be made and mounted in (CAP_SYS_ADMIN, no seccomp/AppArmor
 * veto), else userns when a user namespace mapping our ids can be made and mounted in (root without
 * CAP_SYS_ADMIN; seccomp profiles that refuse unshare(2) say no), else chroot when chroot(2) is allowed
 * (CAP_SYS_CHROOT), else none. Probe mounts land in throwaway namespaces only, never on this machine's tree.
 */
export async function probeIsolation(): Promise<ResolvedIsolation> {
  for (const isolation of ['namespace', 'userns'] as const) {
    const [command, prefix] = inNamespaces(isolation);
    // namespace mode mounts a fresh sysfs, which needs the network namespace's owner: inside a user namespace
    // of its own (a rootless container, a test's private binfmt) Kiln has CAP_SYS_ADMIN but not that.
    const probe = isolation === 'namespace'
      ? ['sh', '-c', `mount -t tmpfs kiln-probe "$0" && mount -t sysfs kiln-probe "$0"`, tmpdir()]
      : ['mount', '-t', 'tmpfs', 'kiln-probe', tmpdir()];
    if (await succeeds(command, [...prefix, ...probe])) return isolation;
  }
  const [perl, ...perlArgs] = perlCommand() as [string, ...string[]];
  if (await succeeds(perl, [...perlArgs, '-e', 'chroot("/") or exit 1'])) return 'chroot';
  return 'none';
}

// The machine's capabilities do not change while Kiln runs; one probe per process is the intended state.
let detected: Promise<ResolvedIsolation> | undefined;

/** probeIsolation(), cached for the life of the process. */
export function detectIsolation(): Promise<ResolvedIsolation> {
  detected ??= probeIsolation();
  return detected;
}

const overlayAnswers = new Map<string, Promise<boolean>>();

/**
 * Whether a step of `isolation` can mount an overlay whose upper dir lies in `dir`'s filesystem (userns:
 * with `userxattr`, kernel ≥ 5.11). No when that filesystem is itself an overlay (a container's root
 * filesystem: put the work dir on a volume) or the kernel is older; the caller then walks the rootfs
 * instead. Probed once per isolation and filesystem.
 */
export function overlayWorks(isolation: 'namespace' | 'userns', dir: string): Promise<boolean> {
  const key = `${isolation}:${statSync(dir).dev}`;
  let answer = overlayAnswers.get(key);
  if (answer === undefined) {
    answer = probeOverlay(isolation, dir);
    overlayAnswers.set(key, answer);
  }
  return answer;
}

async function probeOverlay(isolation: 'namespace' | 'userns', parent: string): Promise<boolean> {
  const dir = mkdtempSync(join(parent, 'kiln-overlay-probe-'));
  try {
    for (const sub of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(dir, sub));
    const [command, prefix] = inNamespaces(isolation);
    const options = `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work${isolation === 'userns' ? ',userxattr' : ''}`;
    return await succeeds(command, [...prefix, 'mount', '-t', 'overlay', 'kiln-probe', '-o', options, join(dir, 'merged')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
