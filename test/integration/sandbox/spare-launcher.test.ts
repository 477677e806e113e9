/**
 * Spare launchers (src/sandbox/spare-launcher.ts): a step with `stepsAfter` leaves launchers (up to two) waiting
 * in their namespaces for the next steps, which use them in order; a spare that died or is of another kind is
 * never used; a spare nobody takes does not keep Kiln alive and dies with it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { dropSpare, sparePid, sparePids } from '../../../src/sandbox/spare-launcher.ts';
import { isRunning, waitGone } from '../../env/process-state.ts';
import { makeBusyboxRootfs, makeTempDir, removeDir, skipUnlessRoot, step } from './helpers.ts';

const sandboxModule = fileURLToPath(new URL('../../../src/sandbox/index.ts', import.meta.url));
const spareModule = fileURLToPath(new URL('../../../src/sandbox/spare-launcher.ts', import.meta.url));

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter((p) => p !== '').map(Number);
  } catch {
    return [];
  }
}

describe('spare launchers', { skip: skipUnlessRoot }, () => {
  let work: string;
  let root: string;
  let steps: string;
  before(() => {
    work = makeTempDir('kiln-sandbox-spare-');
    root = join(work, 'root');
    steps = join(work, 'steps');
    mkdirSync(steps);
    makeBusyboxRootfs(root);
  });
  after(() => {
    dropSpare();
    removeDir(work);
  });
  const dir = () => ({ rootfs: { kind: 'dir' as const, path: root }, tempDir: steps });

  it('a step with a step after it leaves a spare, and the next step of the same kind runs in it', async () => {
    const first = await step({ ...dir(), stepsAfter: 1 }, 'echo one > /tmp/one; echo $$');
    assert.equal(first.exitCode, 0, first.stderr);
    const waiting = await sparePid();
    assert.ok(waiting !== undefined && isRunning(waiting), 'a spare waits after a step with a step after it');
    // The spare's pid is unshare's: the step's pid 1 (the launcher, which becomes the step's shell) is its child.
    const running = step(dir(), 'cat /tmp/one; sleep 0.4; echo spare-step-marker >/dev/null');
    await new Promise((r) => setTimeout(r, 200));
    const shells = childrenOf(waiting).map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    const second = await running;
    assert.equal(second.exitCode, 0, second.stderr);
    assert.equal(second.stdout, 'one\n');
    assert.ok(shells.some((c) => c.includes('spare-step-marker')), `the step ran under the spare: ${JSON.stringify(shells)}`);
    assert.equal(await sparePid(), undefined, 'the spare was taken and none was started after the last step');
    assert.ok(await waitGone(waiting), 'the spare ran the step and ended with it');
  });

  it('with two steps to come, two spares wait; the next two steps run in them, in order, and none is left', async () => {
    const first = await step({ ...dir(), stepsAfter: 5 }, 'true');
    assert.equal(first.exitCode, 0, first.stderr);
    const pids = await sparePids();
    assert.equal(pids.length, 2, 'at most two spares, however many steps follow');
    // Each step's shell runs under the spare it took: unshare (the spare's pid) → launcher, exec'd into the shell.
    const shellUnder = (pid: number) => childrenOf(pid).map((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8'));
    for (const [i, spare] of pids.entries()) {
      const running = step(dir(), `sleep 0.4; echo spare-${i}-marker >/dev/null`);
      await new Promise((r) => setTimeout(r, 200));
      const shells = shellUnder(spare);
      assert.equal((await running).exitCode, 0);
      assert.ok(shells.some((c) => c.includes(`spare-${i}-marker`)), `step ${i + 2} ran under spare ${i + 1}: ${JSON.stringify(shells)}`);
      assert.ok(await waitGone(spare));
    }
    assert.deepEqual(await sparePids(), [], 'steps without stepsAfter leave none');
  });

  it('a spare that died while waiting is not used: the step runs in a fresh launcher', async () => {
    await step({ ...dir(), stepsAfter: 1 }, 'true');
    const waiting = await sparePid();
    assert.ok(waiting);
    process.kill(waiting, 'SIGKILL');
    assert.ok(await waitGone(waiting));
    const out = await step(dir(), 'echo fresh');
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(out.stdout, 'fresh\n');
  });

  it('a spare of another kind (network none) is replaced, and the step gets its own network namespace', async () => {
    await step({ ...dir(), stepsAfter: 1 }, 'true');
    const waiting = await sparePid();
    assert.ok(waiting);
    const out = await step({ ...dir(), network: 'none' }, 'ls /sys/class/net');
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(out.stdout.trim(), 'lo', 'network none: only a loopback interface');
    assert.ok(await waitGone(waiting), 'the spare of the other kind was killed');
  });

  it('a step keeps its exit code and output when it ran in a spare', async () => {
    await step({ ...dir(), stepsAfter: 1 }, 'true');
    assert.ok(await sparePid());
    const out = await step(dir(), 'echo out; echo err >&2; exit 7');
    assert.equal(out.exitCode, 7);
    assert.equal(out.stdout, 'out\n');
    assert.equal(out.stderr, 'err\n');
  });

  it('a spare nobody takes does not keep Kiln running and dies with it', async () => {
    const script = `
      import { prepareLauncher } from ${JSON.stringify(sandboxModule)};
      import { sparePid } from ${JSON.stringify(spareModule)};
      prepareLauncher('namespace', 'default');
      await new Promise((r) => setTimeout(r, 200));
      console.log(String(await sparePid()));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    const pid = Number(r.stdout.trim());
    assert.ok(pid > 0, r.stdout);
    assert.ok(await waitGone(pid), `spare ${pid} outlived its Kiln process`);
  });
});
