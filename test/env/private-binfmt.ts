/**
 * Runs a command in a user + mount namespace of its own, with binfmt_misc mounted privately there (it is per
 * user namespace since Linux 6.7) and, when asked, QEMU's aarch64 emulator registered with the F flag from
 * qemu-user-static. Nothing reaches the machine's /proc/sys/fs/binfmt_misc, and everything registered goes away
 * with the namespace. Ids 0-65535 map onto themselves (as root writes the maps), so the namespace's root owns
 * files as the machine's root does and RUN's sandbox finds the groups it needs (devpts' gid 5).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const QEMU_AARCH64 = '/usr/bin/qemu-aarch64-static';
const DEBIAN_ENTRY = '/usr/lib/binfmt.d/qemu-aarch64.conf';

/** Why a private binfmt namespace cannot be made here, or undefined. */
export function privateBinfmtProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (writes the namespace\'s id maps)';
  if (!fs.existsSync(QEMU_AARCH64) || !fs.existsSync(DEBIAN_ENTRY)) return 'needs qemu-user-static (scripts/install-test-deps.sh)';
  return undefined;
}

/** Debian's aarch64 entry, re-pointed at the static emulator with F only (the kernel opens it when registered). */
function registration(): string {
  const entry = fs.readFileSync(DEBIAN_ENTRY, 'utf8').trim();
  const fields = entry.split(':');
  // :name:type:offset:magic:mask:interpreter:flags
  fields[6] = QEMU_AARCH64;
  fields[7] = 'F';
  return fields.join(':');
}

export interface NamespacedRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` with `args` inside a fresh private-binfmt namespace; `emulate` registers aarch64. */
export function runWithPrivateBinfmt(command: string, args: readonly string[], options: { emulate: boolean; env?: NodeJS.ProcessEnv }): Promise<NamespacedRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-binfmt-ns-'));
  const go = path.join(dir, 'go');
  const register = path.join(dir, 'register');
  fs.writeFileSync(register, `${registration()}\n`);
  // The waiting shell loses its capabilities at exec (its uid is unmapped then); the exec after the maps exist
  // runs as the namespace's root with all of them.
  const setup = [
    'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc',
    ...(options.emulate ? [`cat "${register}" > /proc/sys/fs/binfmt_misc/register`] : []),
    'exec "$0" "$@"',
  ].join(' && ');
  const child = spawn('unshare', ['--user', '--mount', '--fork', '--', 'sh', '-c',
    'go=$0; setup=$1; shift; while [ ! -e "$go" ]; do sleep 0.02; done; exec bash -c "$setup" "$@"', go, setup, command, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise<NamespacedRun>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (status) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    void mapIds(child.pid!).then(() => fs.writeFileSync(go, ''), (e: unknown) => {
      child.kill('SIGKILL');
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
}

/** Waits until unshare has entered its namespace, then maps ids 0-65535 onto themselves. */
async function mapIds(pid: number): Promise<void> {
  const own = fs.readlinkSync('/proc/self/ns/user');
  for (let i = 0; i < 500; i++) {
    if (fs.readlinkSync(`/proc/${pid}/ns/user`) !== own) {
      fs.writeFileSync(`/proc/${pid}/uid_map`, '0 0 65536\n');
      fs.writeFileSync(`/proc/${pid}/gid_map`, '0 0 65536\n');
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`unshare (pid ${pid}) did not enter a new user namespace`);
}
