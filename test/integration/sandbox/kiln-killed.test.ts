/**
 * A SIGKILLed Kiln leaves no step processes behind, in namespace, userns and chroot mode; nor does an aborted
 * step whose pid 1 (the step's own process, under the step's user) Kiln may not signal.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRootfs, makeTempDir, pidsWithCmdline, removeDir, skipUnlessRoot } from './helpers.ts';

const runner = fileURLToPath(new URL('./fixtures/run-steps.ts', import.meta.url));

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (check()) return true;
  return check();
}

describe('Kiln killed or aborting mid-step', { skip: skipUnlessRoot }, () => {
  let work: string;
  let root: string;
  before(() => {
    work = makeTempDir('kiln-sandbox-killed-');
    root = join(work, 'root');
    makeBusyboxRootfs(root);
  });
  after(() => removeDir(work));

  // As root, a namespaced step is pid 1 itself; as another user, the launcher stays its parent (launcher.pl).
  for (const [isolation, needle, user] of [['namespace', 'sleep 7171', 'app'], ['namespace', 'sleep 7070', ''],
    ['userns', 'sleep 7373', 'app'], ['userns', 'sleep 7575', ''], ['chroot', 'sleep 7272', 'app']] as const) {
    it(`${isolation}, as ${user || 'root'}: the step's processes die with Kiln`, async () => {
      const kiln = spawn(process.execPath, [runner], { stdio: ['pipe', 'ignore', 'ignore'] });
      kiln.stdin.end(JSON.stringify([{ rootfs: { kind: 'dir', path: root }, argv: ['/bin/sh', '-c', `${needle} & ${needle}`],
        env: ['PATH=/bin'], cwd: '/', user, isolation, network: 'host', mounts: [], tempDir: work }]));
      try {
        assert.ok(await waitUntil(() => pidsWithCmdline(needle).length >= 2, 10_000), 'the step started');
      } finally {
        kiln.kill('SIGKILL');
      }
      assert.ok(await waitUntil(() => pidsWithCmdline(needle).length === 0, 5000), `left: ${pidsWithCmdline(needle).join(' ')}`);
    });
  }

  it('an aborted namespace step as another user goes, processes and all, even when Kiln lacks CAP_KILL', () => {
    const spec = { rootfs: { kind: 'dir', path: root }, argv: ['/bin/sh', '-c', 'sleep 7474 & sleep 7474'], env: ['PATH=/bin'],
      cwd: '/', user: 'app', isolation: 'namespace', network: 'host', mounts: [], tempDir: work, abortAfterMs: 500 };
    const quoted = [process.execPath, runner].map((a) => `'${a}'`).join(' ');
    const child = spawnSync('capsh', ['--drop=cap_kill', '--', '-c', `exec ${quoted}`], { input: JSON.stringify([spec]), encoding: 'utf8', timeout: 30_000 });
    assert.equal(child.status, 0, child.stderr);
    const [result] = (JSON.parse(child.stdout) as { results: Array<{ error?: { code: string } }> }).results;
    assert.equal(result?.error?.code, 'RUN_ABORTED');
    assert.deepEqual(pidsWithCmdline('sleep 7474'), [], 'an aborted step leaves no process');
  });
});
