/**
 * The boundary of namespace and userns modes (issue 14, items 1 and 2): each step has its own /dev, its root
 * is pivot_root'ed (the host's / is unreachable, also through /proc/1/root), it keeps Docker's default
 * capabilities only (no mount), /proc/sys is read-only and runc's masked paths (/proc/keys here) are empty.
 *
 * The host's /dev/null is never put at risk: every step runs in a throwaway mount namespace (`unshare
 * --mount`) in which a fresh null device of the test's own is bound over /dev/null. A step that reached
 * "the host's" /dev/null would change that node, which the test checks, together with the real /dev/null,
 * before and after.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunSpec } from '../../../src/sandbox/index.ts';
import { makeBusyboxRootfs, makeTempDir, removeDir, skipUnlessRoot } from './helpers.ts';

const runner = fileURLToPath(new URL('./fixtures/run-steps.ts', import.meta.url));
const hasCapsh = spawnSync('capsh', ['--help'], { stdio: 'ignore' }).status === 0;

interface FixtureResult {
  exitCode?: number;
  isolation?: string;
  error?: { code: string; message: string };
  stdout: string;
  stderr: string;
}

/**
 * Runs the steps with a decoy bound over /dev/null in a private mount namespace; `dropSysAdmin` → userns.
 * `maskProc` also hides /proc/timer_list as container runtimes mask /proc files: the kernel then refuses a
 * fresh proc mount in a user namespace, and the step gets the container's /proc instead.
 */
function runGuarded(decoy: string, specs: Array<Partial<RunSpec>>, dropSysAdmin: boolean, maskProc = false): FixtureResult[] {
  const node = `'${process.execPath}' '${runner}'`;
  const inner = dropSysAdmin ? `exec capsh --drop=cap_sys_admin -- -c "exec ${node}"` : `exec ${node}`;
  const mask = maskProc ? `mount --bind '${decoy}' /proc/timer_list && ` : '';
  const child = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
    `mount --bind '${decoy}' /dev/null && ${mask}${inner}`], { input: JSON.stringify(specs), encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  return (JSON.parse(child.stdout) as { results: FixtureResult[] }).results;
}

function modeOf(path: string): string {
  return (statSync(path).mode & 0o7777).toString(8);
}

describe('namespace and userns modes protect the host', { skip: skipUnlessRoot || (hasCapsh ? false : 'capsh (libcap2-bin) missing') }, () => {
  let work: string;
  let root: string;
  let decoy: string;
  let marker: string;
  before(() => {
    work = makeTempDir('kiln-sandbox-host-');
    root = join(work, 'root');
    makeBusyboxRootfs(root);
    mkdirSync(join(root, 'mnt'));
    mkdirSync(join(work, 'steps'));
    decoy = join(work, 'decoy-null');
    const made = spawnSync('mknod', ['-m', '0666', decoy, 'c', '1', '3']);
    assert.equal(made.status, 0, String(made.stderr));
    marker = join(work, 'host-only-marker');
    writeFileSync(marker, 'host');
  });
  after(() => removeDir(work));

  const probe = () => [
    'chmod 0600 /dev/null 2>/dev/null; chown 1000 /dev/null 2>/dev/null; echo x > /dev/null && echo null-writable',
    `test -e /proc/1/root${marker} || test -e /proc/self/root${marker} || test -e ${marker} && echo host-reachable`,
    'grep CapBnd /proc/self/status',
    'mount -t tmpfs kiln-x /mnt 2>/dev/null && echo mounted',
    'echo kiln > /proc/sys/kernel/domainname 2>/dev/null && echo proc-sys-writable',
    'cat /proc/sys/kernel/ostype',
    'grep -c kiln-x /proc/mounts',
    'wc -c < /proc/keys',
    'grep -c "^proc /proc proc rw,nosuid,nodev,noexec" /proc/mounts',   // 1: a fresh proc; 0: the container's, bound
    // A device node the step makes (CAP_MKNOD is in Docker's set) cannot be opened: a null device stands in
    // for what an attacker would make (the host's disk).
    'for n in /kiln-node /dev/kiln-node /tmp/kiln-node; do rm -f $n; mknod $n c 1 3 2>/dev/null && { echo x > $n; } 2>/dev/null && echo "$n opened"; done',
    'echo x > /dev/null && echo own-null-works',
  ].join('; ');

  for (const [isolation, dropSysAdmin, maskProc] of [['namespace', false, false], ['userns', true, false], ['userns', true, true]] as const) {
    it(`${isolation}${maskProc ? ' (container /proc masked: bound instead of mounted)' : ''}: chmod of /dev/null stays in the step; no path to the host's /; Docker's capabilities; read-only /proc/sys`, () => {
      const hostBefore = modeOf('/dev/null');
      const decoyBefore = modeOf(decoy);
      const [result] = runGuarded(decoy, [{
        rootfs: { kind: 'dir', path: root }, env: ['PATH=/usr/bin:/bin:/sbin:/usr/sbin'], cwd: '/', user: '',
        isolation: 'auto', network: 'default', mounts: [], tempDir: join(work, 'steps'), argv: ['/bin/sh', '-c', probe()],
      }], dropSysAdmin, maskProc) as [FixtureResult];
      assert.equal(modeOf(decoy), decoyBefore, 'the node standing in for the host\'s /dev/null is unchanged');
      assert.equal(modeOf('/dev/null'), hostBefore, 'the host\'s /dev/null is unchanged');
      assert.equal(statSync(decoy).uid, 0);
      assert.equal(result.isolation, isolation, result.stderr);
      assert.equal(result.stdout, ['null-writable', 'CapBnd:\t00000000a80425fb', 'Linux', '0', '0', maskProc ? '0' : '1', 'own-null-works', ''].join('\n'), result.stderr);
    });
  }
});
