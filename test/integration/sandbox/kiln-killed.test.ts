/** A SIGKILLed Kiln leaves no step processes behind, in namespace, userns and chroot mode. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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

describe('Kiln killed mid-step', { skip: skipUnlessRoot }, () => {
  let work: string;
  let root: string;
  before(() => {
    work = makeTempDir('kiln-sandbox-killed-');
    root = join(work, 'root');
    makeBusyboxRootfs(root);
  });
  after(() => removeDir(work));

  for (const [isolation, needle] of [['namespace', 'sleep 7171'], ['userns', 'sleep 7373'], ['chroot', 'sleep 7272']] as const) {
    it(`${isolation}: the step's processes die with Kiln`, async () => {
      const kiln = spawn(process.execPath, [runner], { stdio: ['pipe', 'ignore', 'ignore'] });
      kiln.stdin.end(JSON.stringify([{ rootfs: { kind: 'dir', path: root }, argv: ['/bin/sh', '-c', `${needle} & ${needle}`],
        env: ['PATH=/bin'], cwd: '/', user: 'app', isolation, network: 'host', mounts: [], tempDir: work }]));
      try {
        assert.ok(await waitUntil(() => pidsWithCmdline(needle).length >= 2, 10_000), 'the step started');
      } finally {
        kiln.kill('SIGKILL');
      }
      assert.ok(await waitUntil(() => pidsWithCmdline(needle).length === 0, 5000), `left: ${pidsWithCmdline(needle).join(' ')}`);
    });
  }
});
