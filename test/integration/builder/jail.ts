/**
 * A throwaway jail for in-place builds (`--isolation=none` replaces `/`): a private mount and pid namespace
 * (`unshare --mount --pid --fork --kill-child`, propagation private) chrooted into a scratch directory. Kiln
 * never sees this machine's `/`; everything it needs is bind-mounted in, read-only where it can be:
 *
 *   /work/main (this checkout, ro)   /kiln-support/usr (the host's /usr, ro: node's and perl's libraries)
 *   /kiln-support/bin (a static busybox and a perl wrapper; the kaniko dir)   /kiln-work (work dir, TMPDIR)
 *   /proc (fresh)   /dev (a tmpfs with binds of null, zero, full, random, urandom, tty)   plus the test's binds
 *
 * The mounts live only in the namespace, so they die with its last process; `destroy` still checks the
 * host's mountinfo and refuses to remove a jail that has anything mounted below it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unmet } from '../../env/requirements.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const nodeBinary = fs.realpathSync(process.execPath);
const libDir = '/usr/lib/x86_64-linux-gnu';
const support = '/kiln-support';
const loader = `${support}${libDir}/ld-linux-x86-64.so.2`;
// The checkout is mounted at a fixed place the jail owns, not at its host path: a checkout under /tmp would
// otherwise put the mount below the jail's /tmp, which the base image's /tmp (mode 1777) then lands on.
const repoInJail = `${support}/repo`;

export const jailSkip: string | false = unmet(process.getuid?.() !== 0 ? 'in-place jail tests need root (mounts, chroot)'
  : process.arch !== 'x64' || !fs.existsSync(`${libDir}/ld-linux-x86-64.so.2`) ? 'the jail runs node through the x86_64 loader'
    : !fs.existsSync('/bin/busybox') ? 'the jail needs busybox-static'
      : nodeBinary.startsWith(repoRoot + '/') ? false : 'node must live inside the checkout (node_modules)');

export interface JailBind {
  /** Host path (dir or file). */
  source: string;
  /** Absolute path inside the jail. */
  target: string;
  readOnly?: boolean;
}

export interface JailRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface Jail {
  /** Host directory that is `/` inside the jail. */
  root: string;
  /** Runs `kiln ARGS` inside the jail (a fresh namespace per run) with the given extra binds. */
  kiln(args: readonly string[], options?: { binds?: JailBind[]; env?: Record<string, string> }): Promise<JailRun>;
  /** Sorted listing of the jail's own tree (mount point contents not entered): path, type and mode. */
  listing(): string[];
  /** Removes the jail; throws (removing nothing) if any mount is still below it. */
  destroy(): void;
}

/** Host mount points at or below `dir`. */
export function mountsBelow(dir: string): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(dir + '/'));
}

const perlWrapper = `#!${support}/bin/busybox sh
exec ${loader} --library-path ${support}${libDir} ${support}/usr/bin/perl -I${support}${libDir}/perl-base "$@"
`;

/** The host's getfattr/setfattr through the loader: an in-place build checks for them before emptying `/`. */
const xattrWrapper = (tool: string): string => `#!${support}/bin/busybox sh
exec ${loader} --library-path ${support}${libDir} ${support}/usr/bin/${tool} "$@"
`;

/** Directories (and files) the namespace mounts onto; everything else in the jail is created here. */
function skeleton(root: string, binds: readonly JailBind[]): void {
  for (const dir of ['proc', 'dev', 'kiln-work', `kiln-support/usr`, 'kiln-support/bin', repoInJail.slice(1)]) {
    fs.mkdirSync(path.join(root, dir), { recursive: true });
  }
  fs.copyFileSync('/bin/busybox', path.join(root, 'kiln-support/bin/busybox'));
  fs.chmodSync(path.join(root, 'kiln-support/bin/busybox'), 0o755);
  fs.writeFileSync(path.join(root, 'kiln-support/bin/perl'), perlWrapper, { mode: 0o755 });
  for (const tool of ['getfattr', 'setfattr']) fs.writeFileSync(path.join(root, `kiln-support/bin/${tool}`), xattrWrapper(tool), { mode: 0o755 });
  for (const b of binds) {
    const target = path.join(root, b.target);
    if (fs.statSync(b.source).isDirectory()) fs.mkdirSync(target, { recursive: true });
    else if (!fs.existsSync(target)) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, '');
    }
  }
}

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function mountScript(root: string, binds: readonly JailBind[]): string {
  const J = q(root);
  const lines = [
    'set -eu',
    'mount --make-rprivate /',
    `mount --rbind /usr ${J}${support}/usr`, `mount -o remount,bind,ro ${J}${support}/usr`,
    `mount --bind ${q(repoRoot)} ${J}${repoInJail}`, `mount -o remount,bind,ro ${J}${repoInJail}`,
    `mount -t proc proc ${J}/proc`,
    `mount -t tmpfs -o mode=755 tmpfs ${J}/dev`,
  ];
  for (const node of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) {
    lines.push(`touch ${J}/dev/${node}`, `mount --bind /dev/${node} ${J}/dev/${node}`);
  }
  for (const b of binds) {
    lines.push(`mount --bind ${q(b.source)} ${J}${q(b.target)}`);
    if (b.readOnly) lines.push(`mount -o remount,bind,ro ${J}${q(b.target)}`);
  }
  // chroot keeps the environment: from here on PATH is the jail's.
  lines.push(`export PATH=${support}/bin`, `exec /usr/sbin/chroot ${J} ${loader} --library-path ${support}${libDir} "$@"`);
  return lines.join('\n');
}

export function createJail(): Jail {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-jail-'));
  fs.chmodSync(root, 0o755);
  const prepared = new Set<string>();
  return {
    root,
    kiln(args, options = {}) {
      const binds = options.binds ?? [];
      const key = JSON.stringify(binds);
      if (!prepared.has(key)) {
        skeleton(root, binds);
        prepared.add(key);
      }
      const node = repoInJail + nodeBinary.slice(repoRoot.length);
      const argv = [node, '--no-warnings=ExperimentalWarning', path.join(repoInJail, 'src/cli/main.ts'), ...args];
      const env = {
        PATH: `${support}/bin`, HOME: '/kiln-work', TMPDIR: '/kiln-work', KILN_WORK_DIR: '/kiln-work', NO_COLOR: '1',
        KILN_PERL: `${support}/bin/perl`, KANIKO_DIR: `${support}/bin`, ...options.env,
      };
      return new Promise((resolve, reject) => {
        const child = spawn('unshare', ['--mount', '--pid', '--fork', '--kill-child', '--propagation', 'private', '--',
          'sh', '-c', mountScript(root, binds), 'jail', ...argv], {
          env: { ...env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (c: Buffer) => out.push(c));
        child.stderr.on('data', (c: Buffer) => err.push(c));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
      });
    },
    listing() {
      const out: string[] = [];
      const walk = (rel: string): void => {
        for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
          const r = `${rel}/${name}`;
          const st = fs.lstatSync(path.join(root, r));
          const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'file';
          out.push(`${r} ${kind} ${(st.mode & 0o7777).toString(8)}`);
          if (st.isDirectory()) walk(r);
        }
      };
      walk('');
      return out;
    },
    destroy() {
      const left = mountsBelow(root);
      if (left.length > 0) throw new Error(`not removing ${root}: still mounted below it: ${left.join(', ')}`);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
