/** RUN --mount types in namespace mode: bind ro/rw, cache, tmpfs, secret (file and env), ssh socket. */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isKilnError } from '../../../src/errors.ts';
import type { RunMountSpec } from '../../../src/sandbox/index.ts';
import { makeBusyboxRootfs, makeTempDir, mountsUnder, removeDir, skipUnlessRoot, step } from './helpers.ts';

describe('runStep RUN --mount', { skip: skipUnlessRoot }, () => {
  let work: string;
  let root: string;
  let hostDir: string;
  before(() => {
    work = makeTempDir('kiln-sandbox-mounts-');
    root = join(work, 'root');
    hostDir = join(work, 'host');
    makeBusyboxRootfs(root);
    mkdirSync(hostDir);
    writeFileSync(join(hostDir, 'input.txt'), 'from the host\n');
  });
  after(() => removeDir(work));
  const withMounts = (mounts: RunMountSpec[]) => ({ rootfs: { kind: 'dir' as const, path: root }, mounts });

  it('bind read-only: readable, not writable, and its mount point is a removed stub', async () => {
    const out = await step(withMounts([{ type: 'bind', source: hostDir, target: '/src', readOnly: true }]),
      'cat /src/input.txt; touch /src/new 2>/dev/null && echo wrote || echo read-only');
    assert.equal(out.stdout, 'from the host\nread-only\n');
    assert.equal(existsSync(join(hostDir, 'new')), false);
    assert.deepEqual(out.mountStubs.filter((s) => s === '/src'), ['/src']);
    assert.equal(existsSync(join(root, 'src')), false);
  });

  it('bind read-write: writable in the step, the writes discarded (BuildKit); a file source binds as a file', async () => {
    const out = await step(withMounts([
      { type: 'bind', source: hostDir, target: '/rw', readOnly: false },
      { type: 'bind', source: join(hostDir, 'input.txt'), target: '/rwfile', readOnly: false },
      { type: 'bind', source: join(hostDir, 'input.txt'), target: '/opt/one/file.txt', readOnly: true },
    ]), 'echo written > /rw/out.txt; cat /rw/out.txt; echo changed > /rwfile; cat /rwfile; rm /rw/input.txt;'
      + ' cat /opt/one/file.txt; stat -c %F /opt/one/file.txt');
    assert.equal(out.stdout, 'written\nchanged\nfrom the host\nregular file\n', out.stderr);
    assert.equal(existsSync(join(hostDir, 'out.txt')), false, 'nothing written reaches the source');
    assert.equal(readFileSync(join(hostDir, 'input.txt'), 'utf8'), 'from the host\n');
    for (const stub of ['/rw', '/opt', '/opt/one', '/opt/one/file.txt']) assert.ok(out.mountStubs.includes(stub), stub);
    assert.equal(existsSync(join(root, 'opt')), false);
  });

  it('a stub dir the step wrote into stays, and is not reported', async () => {
    const out = await step(withMounts([{ type: 'bind', source: hostDir, target: '/var/cache/x', readOnly: true }]),
      'echo mine > /var/own.txt');
    assert.ok(out.mountStubs.includes('/var/cache/x'));
    assert.ok(out.mountStubs.includes('/var/cache'));
    assert.equal(out.mountStubs.includes('/var'), false);
    assert.equal(readFileSync(join(root, 'var/own.txt'), 'utf8'), 'mine\n');
    assert.equal(existsSync(join(root, 'var/cache')), false);
    removeDir(join(root, 'var'));
  });

  it('cache: contents persist across two steps', async () => {
    const cache = join(work, 'cache');
    mkdirSync(cache);
    const mounts: RunMountSpec[] = [{ type: 'cache', source: cache, target: '/root/.cache', readOnly: false }];
    await step(withMounts(mounts), 'echo first > /root/.cache/kept');
    const second = await step(withMounts(mounts), 'cat /root/.cache/kept; echo second >> /root/.cache/kept');
    assert.equal(second.stdout, 'first\n');
    assert.equal(readFileSync(join(cache, 'kept'), 'utf8'), 'first\nsecond\n');
    assert.equal(existsSync(join(root, 'root/.cache')), false);
  });

  it('tmpfs: writable, sized, gone afterwards', async () => {
    const out = await step(withMounts([{ type: 'tmpfs', target: '/scratch', readOnly: false, size: 1024 * 1024 }]),
      'echo t > /scratch/f && cat /scratch/f; df -k /scratch | tail -1 | awk "{print \\$2}"; grep " /scratch " /proc/mounts | cut -d" " -f3');
    assert.equal(out.stdout, 't\n1024\ntmpfs\n');
    assert.equal(existsSync(join(root, 'scratch')), false);
  });

  it('secret: a read-only 0400 file at /run/secrets/x during the step only; env= exposes it too', async () => {
    const secretFile = join(work, 'secret.txt');
    writeFileSync(secretFile, 's3cr3t', { mode: 0o644 });
    const out = await step({ ...withMounts([
      { type: 'secret', source: secretFile, target: '/run/secrets/x', readOnly: true },
      { type: 'secret', source: secretFile, target: '/run/secrets/owned', readOnly: true, mode: 0o440, uid: 1000, gid: 2000 },
      { type: 'secret', source: secretFile, target: '', readOnly: true, env: 'MY_SECRET' },
    ]) }, 'cat /run/secrets/x; echo; stat -c "%a %u %g" /run/secrets/x /run/secrets/owned; echo "env=$MY_SECRET";'
      + ' echo x > /run/secrets/x 2>/dev/null || echo ro');
    assert.equal(out.stdout, 's3cr3t\n400 0 0\n440 1000 2000\nenv=s3cr3t\nro\n');
    assert.equal(existsSync(join(root, 'run')), false, 'nothing of the secret is left in the rootfs');
    assert.equal(statSync(secretFile).mode & 0o777, 0o644, 'the host file keeps its mode');
    const user = await step({ ...withMounts([{ type: 'secret', source: secretFile, target: '/run/secrets/x', readOnly: true }]), user: 'app' },
      'cat /run/secrets/x 2>/dev/null || echo denied');
    assert.equal(user.stdout, 'denied\n', 'mode 0400 root-owned: other users cannot read it');
  });

  it('ssh: the agent socket is bound at the target', async () => {
    const socketPath = join(work, 'agent.sock');
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const out = await step(withMounts([{ type: 'ssh', source: socketPath, target: '/run/buildkit/ssh_agent.0', readOnly: true }]),
        'stat -c "%F %i" /run/buildkit/ssh_agent.0');
      assert.equal(out.stdout, `socket ${lstatSync(socketPath).ino}\n`);
      assert.equal(existsSync(join(root, 'run')), false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('mounts sorted by depth: a deeper mount stays visible under a shallower one', async () => {
    const out = await step(withMounts([
      { type: 'bind', source: join(hostDir, 'input.txt'), target: '/m/inner/file', readOnly: true },
      { type: 'tmpfs', target: '/m', readOnly: false },
    ]), 'cat /m/inner/file');
    assert.equal(out.stdout, 'from the host\n');
  });

  it('a symlink in the image cannot lead a mount point out of the rootfs', async () => {
    const outside = join(work, 'outside');
    mkdirSync(outside);
    const link = join(root, 'escape');
    for (const target of [outside, `../../../../../../../..${outside}`]) {
      symlinkSync(target, link);
      try {
        const out = await step(withMounts([{ type: 'tmpfs', target: '/escape/mnt', readOnly: false }]), 'echo ok > /escape/mnt/f; cat /escape/mnt/f');
        assert.equal(out.stdout, 'ok\n');
        assert.deepEqual(readdirSync(outside), [], `nothing created outside the rootfs (${target})`);
        assert.ok(out.mountStubs.includes(`${outside}/mnt`), 'the stub is where the link leads inside the rootfs');
      } finally {
        rmSync(link);
        removeDir(join(root, work.split('/')[1] as string));
      }
    }
  });

  it('a missing bind source is a KilnError', async () => {
    await assert.rejects(step(withMounts([{ type: 'bind', source: join(work, 'nope'), target: '/x', readOnly: true }]), 'true'),
      (err) => isKilnError(err) && err.code === 'RUN_MOUNT');
  });

  it('leaves no mounts in the caller\'s namespace', () => {
    assert.deepEqual(mountsUnder(work), []);
  });
});
