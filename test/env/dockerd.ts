/**
 * A private Docker daemon for a test (Debian's docker.io): its own data root, exec root and unix socket in a
 * temp dir, no bridge or iptables (containers use `--network host`). Stopped, unmounted and removed after.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';

/** Debian's client; /usr/local/bin/docker on these machines is a newer one without the classic builder. */
export const DOCKER = '/usr/bin/docker';

export interface Dockerd {
  sock: string;
  /** Runs the docker client against this daemon; throws with stderr when it fails. */
  docker(...args: string[]): string;
  /** Runs the docker client and returns its exit status and its stdout and stderr together (a container's log). */
  attempt(...args: string[]): { status: number | null; output: string };
}

export async function startDockerd(t: { after(fn: () => Promise<void> | void): void }): Promise<Dockerd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-dockerd-'));
  const sock = path.join(dir, 'docker.sock');
  const daemon = spawn('dockerd', [
    '--bridge=none', '--iptables=false', '--ip-masq=false', '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
    '--pidfile', path.join(dir, 'docker.pid'), '-H', `unix://${sock}`, '--containerd-namespace', `kiln-test-${process.pid}`,
    '--containerd-plugins-namespace', `kiln-test-plugins-${process.pid}`,
  ], {
    stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'dockerd.log'), 'w')],
    // containerd writes a stack dump to $TMPDIR when stopped: keep it in the dir the test removes.
    env: { ...process.env, TMPDIR: dir },
  });
  const exited = new Promise<void>((resolve) => daemon.on('exit', () => resolve()));
  // One hook, in order: stop the daemon, unmount what it mounted (it bind-mounts its data root), remove the dir.
  t.after(async () => {
    daemon.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGKILL');
      await exited;
    }
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
      const mountPoint = line.split(' ')[4];
      if (mountPoint?.startsWith(dir)) execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const docker = (...args: string[]) => execFileSync(DOCKER, ['-H', `unix://${sock}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const attempt = (...args: string[]) => {
    const r = spawnSync(DOCKER, ['-H', `unix://${sock}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  };
  for (let i = 0; i < 300; i++) {
    try {
      execFileSync(DOCKER, ['-H', `unix://${sock}`, 'version'], { stdio: 'ignore' });
      return { sock, docker, attempt };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`dockerd did not start: ${fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8').slice(-2000)}`);
}
