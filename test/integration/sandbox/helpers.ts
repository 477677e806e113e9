/** A tiny real rootfs (Debian's static busybox) and small probes for sandbox tests. */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { runStep } from '../../../src/sandbox/index.ts';
import type { RunResult, RunSpec } from '../../../src/sandbox/index.ts';
import { unlessRoot } from '../../env/requirements.ts';

export const isRoot = process.getuid?.() === 0;
export const skipUnlessRoot = unlessRoot('sandbox tests: mounts, chroot, setuid');

export const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
  'app:x:1000:1000:app:/home/app:/bin/sh',
  '',
].join('\n');
export const group = ['root:x:0:', 'wheel:x:10:root', 'nogroup:x:65534:', 'app:x:1000:', 'extra:x:2000:app,other',
  'more:x:2001:app', ''].join('\n');

/** busybox + absolute applet symlinks + a user database with a user in two supplementary groups. */
export function makeBusyboxRootfs(root: string): void {
  for (const dir of ['bin', 'etc', 'tmp', 'root', 'home/app', 'usr/bin', 'sbin', 'usr/sbin']) mkdirSync(join(root, dir), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  const applets = execFileSync('/bin/busybox', ['--list-full'], { encoding: 'utf8' }).split('\n').filter((l) => l !== '');
  for (const applet of applets) {
    if (applet === 'bin/busybox') continue;
    mkdirSync(dirname(join(root, applet)), { recursive: true });
    symlinkSync('/bin/busybox', join(root, applet));
  }
  writeFileSync(join(root, 'etc/passwd'), passwd);
  writeFileSync(join(root, 'etc/group'), group);
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A Writable that keeps what it receives. */
export class Collector extends Writable {
  private readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk);
    callback();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface StepOutput extends RunResult {
  stdout: string;
  stderr: string;
}

/** runStep with test defaults (namespace, root, PATH only) and collected output. */
export async function step(base: Partial<RunSpec> & Pick<RunSpec, 'rootfs'>, script: string): Promise<StepOutput> {
  const stdout = new Collector();
  const stderr = new Collector();
  const result = await runStep({
    argv: ['/bin/sh', '-c', script], env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], cwd: '/', user: '',
    isolation: 'namespace', network: 'host', mounts: [], stdout, stderr, ...base,
  });
  return { ...result, stdout: stdout.text(), stderr: stderr.text() };
}

/** Host pids whose command line contains `needle` (a unique argument such as `sleep 4242`). */
export function pidsWithCmdline(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(needle)) pids.push(Number(name));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

/** Lines of this process's mountinfo that mention `dir`. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(dir));
}
