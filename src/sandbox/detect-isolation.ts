/** What `--isolation=auto` means on this machine: probed once per process with the same host tools a step uses. */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST_TOOL_PATH, perlCommand } from '../bundled-tools.ts';
import { spawnForkedScript, spawnProcess, type ProcessHandle } from '../spawner.ts';
import { userNamespaceEntry } from './step-process.ts';
import type { ResolvedIsolation } from './types.ts';

const probeOptions = { env: { PATH: HOST_TOOL_PATH }, pipes: [] } as const;

/** The exit code of a process (undefined when it could not start or was killed). */
function exitCodeOf(child: ProcessHandle): Promise<number | undefined> {
  return new Promise((resolve) => {
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code ?? undefined));
  });
}

function exitCode(command: string, args: string[]): Promise<number | undefined> {
  return exitCodeOf(spawnProcess(command, args, probeOptions));
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

/** The probe a namespaced step's mounts must pass, run in that step's namespaces (isolation-probe.pl says how). */
const probePath = fileURLToPath(new URL('./isolation-probe.pl', import.meta.url));
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
      const args = [tmpdir(), overlay?.merged ?? '', overlay ? overlayOptions(isolation, overlay.dir) : '', isolation, String(MOUNT_SYSCALL)];
      const fallback = [command, ...prefix, ...perlCommand(), probePath, ...args] as [string, ...string[]];
      // Namespace mode forks the probe from the spawner, as it does the step launchers the probe stands for.
      const code = await (isolation === 'namespace'
        ? exitCodeOf(spawnForkedScript({ script: probePath, namespaces: ['mount', 'pid', 'ipc', 'uts'], args }, fallback, probeOptions))
        : exitCode(fallback[0], fallback.slice(1)));
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
