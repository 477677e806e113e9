/** What `--isolation=auto` means on this machine: probed once per process with the same host tools a step uses. */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_TOOL_PATH, perlCommand } from '../bundled-tools.ts';
import { spawnProcess } from '../spawner.ts';
import { userNamespaceEntry } from './step-process.ts';
import type { ResolvedIsolation } from './types.ts';

/** The exit code of a command (undefined when it could not start or was killed). */
function exitCode(command: string, args: string[]): Promise<number | undefined> {
  return new Promise((resolve) => {
    const child = spawnProcess(command, args, { env: { PATH: HOST_TOOL_PATH }, pipes: [] });
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code ?? undefined));
  });
}

async function succeeds(command: string, args: string[]): Promise<boolean> {
  return (await exitCode(command, args)) === 0;
}

const namespaces = ['unshare', '--mount', '--pid', '--ipc', '--uts', '--fork', '--'];

/** argv prefix running what follows in the namespaces a step of `isolation` gets. */
function inNamespaces(isolation: 'namespace' | 'userns'): [string, string[]] {
  if (isolation === 'namespace') return ['unshare', namespaces.slice(1)];
  const [perl, ...entry] = userNamespaceEntry();
  return [perl as string, [...entry, ...namespaces]];
}

/**
 * The probe a namespaced step's mounts must pass, run in that step's namespaces (perl, not sh: Kiln's image has
 * no shell), with mount(2) called by number (ARGV[4]) as the launcher calls it: no `mount` binary started three
 * times (each a fork and exec, ~5 ms, while the probe is on the first RUN step's path). A tmpfs on ARGV[0]
 * (namespace mode also mounts a fresh sysfs, which needs the network namespace's owner: inside a user
 * namespace of its own, a rootless container or a test's private binfmt, Kiln has CAP_SYS_ADMIN but not
 * that), and first, when ARGV[1] is set, an overlay on it with options ARGV[2] (before the tmpfs can hide its
 * directories). Exit 0: the isolation works, and so does the overlay; 3: the isolation works, the overlay does
 * not; other: the isolation does not.
 */
const PROBE_SCRIPT = [
  'my ($tmp, $merged, $options, $mode, $mount) = @ARGV;',
  // syscall() takes writable strings: no literals.
  "my ($source, $ovl, $tmpfs, $sysfs) = ('kiln-probe', 'overlay', 'tmpfs', 'sysfs');",
  'my $overlay = 0;',
  "$overlay = 3 if $merged ne '' && syscall($mount, $source, $merged, $ovl, 0, $options) != 0;",
  'syscall($mount, $source, $tmp, $tmpfs, 0, 0) == 0 or exit 1;',
  "$mode ne 'namespace' or syscall($mount, $source, $tmp, $sysfs, 0, 0) == 0 or exit 1;",
  'exit $overlay;',
].join('\n');
/** mount(2)'s number: x86_64's, else the asm-generic table's (arm64, riscv64, loong64), as the launcher has them. */
const MOUNT_SYSCALL = process.arch === 'x64' ? 165 : 40;
const OVERLAY_FAILED = 3;

/**
 * namespace when a private mount namespace can be made and mounted in (CAP_SYS_ADMIN, no seccomp/AppArmor
 * veto), else userns when a user namespace mapping our ids can be made and mounted in (root without
 * CAP_SYS_ADMIN; seccomp profiles that refuse unshare(2) say no), else chroot when chroot(2) is allowed
 * (CAP_SYS_CHROOT), else none. Probe mounts land in throwaway namespaces only, never on this machine's tree.
 * With `overlayParent`, the same process also answers overlayWorks() for that directory's filesystem: one
 * process instead of two in front of the first RUN step.
 */
export async function probeIsolation(overlayParent?: string): Promise<ResolvedIsolation> {
  for (const isolation of ['namespace', 'userns'] as const) {
    const [command, prefix] = inNamespaces(isolation);
    const overlay = overlayParent === undefined ? undefined : overlayProbeDir(overlayParent);
    try {
      const code = await exitCode(command, [...prefix, ...perlCommand(), '-e', PROBE_SCRIPT, tmpdir(),
        overlay?.merged ?? '', overlay ? overlayOptions(isolation, overlay.dir) : '', isolation, String(MOUNT_SYSCALL)]);
      if (code !== 0 && code !== OVERLAY_FAILED) continue;
      if (overlayParent !== undefined) overlayAnswers.set(overlayKey(isolation, overlayParent), Promise.resolve(code === 0));
      return isolation;
    } finally {
      if (overlay) rmSync(overlay.dir, { recursive: true, force: true });
    }
  }
  const [perl, ...perlArgs] = perlCommand() as [string, ...string[]];
  if (await succeeds(perl, [...perlArgs, '-e', 'chroot("/") or exit 1'])) return 'chroot';
  return 'none';
}

// The machine's capabilities do not change while Kiln runs; one probe per process is the intended state.
let detected: Promise<ResolvedIsolation> | undefined;

/** probeIsolation(), cached for the life of the process; the first caller's `overlayParent` is probed too. */
export function detectIsolation(overlayParent?: string): Promise<ResolvedIsolation> {
  detected ??= probeIsolation(overlayParent);
  return detected;
}

const overlayAnswers = new Map<string, Promise<boolean>>();

const overlayKey = (isolation: 'namespace' | 'userns', dir: string): string => `${isolation}:${statSync(dir).dev}`;

/**
 * Whether a step of `isolation` can mount an overlay whose upper dir lies in `dir`'s filesystem (userns:
 * with `userxattr`, kernel ≥ 5.11). No when that filesystem is itself an overlay (a container's root
 * filesystem: put the work dir on a volume) or the kernel is older; the caller then walks the rootfs
 * instead. Probed once per isolation and filesystem (by detectIsolation() when it was given that directory).
 */
export function overlayWorks(isolation: 'namespace' | 'userns', dir: string): Promise<boolean> {
  const key = overlayKey(isolation, dir);
  let answer = overlayAnswers.get(key);
  if (answer === undefined) {
    answer = probeOverlay(isolation, dir);
    overlayAnswers.set(key, answer);
  }
  return answer;
}

/** A throwaway lower/upper/work/merged set under `parent`. */
function overlayProbeDir(parent: string): { dir: string; merged: string } {
  const dir = mkdtempSync(join(parent, 'kiln-overlay-probe-'));
  for (const sub of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(dir, sub));
  return { dir, merged: join(dir, 'merged') };
}

function overlayOptions(isolation: 'namespace' | 'userns', dir: string): string {
  return `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work${isolation === 'userns' ? ',userxattr' : ''}`;
}

async function probeOverlay(isolation: 'namespace' | 'userns', parent: string): Promise<boolean> {
  const { dir, merged } = overlayProbeDir(parent);
  try {
    const [command, prefix] = inNamespaces(isolation);
    return await succeeds(command, [...prefix, 'mount', '-t', 'overlay', 'kiln-probe', '-o', overlayOptions(isolation, dir), merged]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
