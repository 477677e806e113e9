/** What `--isolation=auto` means on this machine: probed once per process with the same host tools a step uses. */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { perlCommand } from '../bundled-tools.ts';
import type { ResolvedIsolation } from './types.ts';

const toolPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function succeeds(command: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', env: { PATH: toolPath } });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/**
 * namespace when a private mount namespace can be made and mounted in (CAP_SYS_ADMIN, no seccomp/AppArmor
 * veto), else chroot when chroot(2) is allowed (CAP_SYS_CHROOT), else none. The tmpfs lands in a throwaway
 * namespace only, never on this machine's tree.
 */
export async function probeIsolation(): Promise<ResolvedIsolation> {
  const namespace = await succeeds('unshare', ['--mount', '--pid', '--ipc', '--uts', '--fork', '--',
    'mount', '-t', 'tmpfs', 'kiln-probe', tmpdir()]);
  if (namespace) return 'namespace';
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
