/** What `--isolation=auto` means on this machine: probed once per process with the same host tools a step uses. */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/**
 * userns works when a user namespace mapping our ids can be made and, inside it, an overlay with
 * `userxattr` mounted (kernel ≥ 5.11; seccomp profiles that refuse unshare(CLONE_NEWUSER) say no here).
 */
async function userNamespaceWorks(): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-userns-probe-'));
  try {
    for (const sub of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(dir, sub));
    const [perl, ...entry] = userNamespaceEntry();
    return await succeeds(perl as string, [...entry, ...namespaces, 'mount', '-t', 'overlay', 'kiln-probe', '-o',
      `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work,userxattr`, join(dir, 'merged')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * namespace when a private mount namespace can be made and mounted in (CAP_SYS_ADMIN, no seccomp/AppArmor
 * veto), else userns (root without CAP_SYS_ADMIN, user namespaces allowed), else chroot when chroot(2) is
 * allowed (CAP_SYS_CHROOT), else none. Probe mounts land in throwaway namespaces only, never on this
 * machine's tree.
 */
export async function probeIsolation(): Promise<ResolvedIsolation> {
  if (await succeeds('unshare', [...namespaces, 'mount', '-t', 'tmpfs', 'kiln-probe', tmpdir()])) return 'namespace';
  if (await userNamespaceWorks()) return 'userns';
  if (await succeeds('perl', ['-e', 'chroot("/") or exit 1'])) return 'chroot';
  return 'none';
}

// The machine's capabilities do not change while Kiln runs; one probe per process is the intended state.
let detected: Promise<ResolvedIsolation> | undefined;

/** probeIsolation(), cached for the life of the process. */
export function detectIsolation(): Promise<ResolvedIsolation> {
  detected ??= probeIsolation();
  return detected;
}
