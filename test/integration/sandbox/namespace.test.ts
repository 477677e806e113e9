/**
 * runStep in namespace mode on a real busybox rootfs: exit codes, exact env, cwd, users, /proc, /dev,
 * host files, overlay upper dirs, network none, process-tree and abort cleanup.
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isKilnError } from '../../../src/errors.ts';
import { runStep } from '../../../src/sandbox/index.ts';
import { makeBusyboxRootfs, makeTempDir, mountsUnder, pidsWithCmdline, removeDir, skipUnlessRoot, step } from './helpers.ts';

describe('runStep namespace mode', { skip: skipUnlessRoot }, () => {
  let work: string;
  let root: string;
  let steps: string;
  before(() => {
    work = makeTempDir('kiln-sandbox-ns-');
    root = join(work, 'root');
    steps = join(work, 'steps');
    mkdirSync(steps);
    makeBusyboxRootfs(root);
  });
  after(() => removeDir(work));
  const dir = () => ({ rootfs: { kind: 'dir' as const, path: root }, tempDir: steps });

  it('returns the exit code, 128+n for a signal, and reports namespace', async () => {
    assert.equal((await step(dir(), 'exit 0')).exitCode, 0);
    assert.equal((await step(dir(), 'exit 3')).exitCode, 3);
    // The step is pid 1 (see below): a signal it sends itself is dropped by the kernel, as in a container.
    const killed = await step(dir(), "sh -c 'kill -9 $$'; exit $?");
    assert.equal(killed.exitCode, 137);
    assert.equal(killed.isolation, 'namespace');
    assert.equal((await step(dir(), 'kill -9 $$; echo still here')).stdout, 'still here\n');
  });

  it('passes exactly the given environment, in order, adding only HOME', async () => {
    const env = ['PATH=/usr/bin:/bin', 'Z_LAST=z', 'A_FIRST=a b  c', 'EMPTY=', 'DUP=1'];
    const out = await step({ ...dir(), env }, 'cat /proc/$$/environ; exit 0');
    assert.deepEqual(out.stdout.split('\0').filter((l) => l !== ''), [...env, 'HOME=/root'], out.stderr);
    const withHome = await step({ ...dir(), env: ['PATH=/bin', 'HOME=/elsewhere'] }, 'echo $HOME');
    assert.equal(withHome.stdout, '/elsewhere\n');
  });

  it('creates the working directory and starts there', async () => {
    const out = await step({ ...dir(), cwd: '/work/deep/dir' }, 'pwd');
    assert.equal(out.stdout, '/work/deep/dir\n');
    assert.ok(lstatSync(join(root, 'work/deep/dir')).isDirectory(), 'WORKDIR stays in the rootfs, like docker');
  });

  it('resolves USER by name, uid and uid:gid with supplementary groups and HOME', async () => {
    const probe = 'echo "$(id -u):$(id -g):$(id -G):$HOME"; grep -E "^(Uid|Gid|CapPrm)" /proc/self/status';
    const cases: Array<[string, string]> = [
      ['', '0:0:0 10:/root'], // no USER: root looked up like a named user (BuildKit), groups included
      ['app', '1000:1000:1000 2000 2001:/home/app'],
      ['1000', '1000:1000:1000 2000 2001:/home/app'],
      ['app:extra', '1000:2000:2000:/home/app'],
      ['1000:1000', '1000:1000:1000:/home/app'],
      ['1042:1043', '1042:1043:1043:/'],
      ['root', '0:0:0 10:/root'],
      ['nobody', '65534:65534:65534:/nonexistent'],
    ];
    for (const [user, expected] of cases) {
      const out = await step({ ...dir(), user }, probe);
      const [ids, uidLine, gidLine, capLine] = out.stdout.trim().split('\n');
      assert.equal(ids, expected, `USER ${JSON.stringify(user)}`);
      const [uid, gid] = expected.split(':');
      assert.match(uidLine ?? '', new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`), 'real, effective, saved and fs uid');
      assert.match(gidLine ?? '', new RegExp(`^Gid:\\s+${gid}\\s+${gid}\\s+${gid}\\s+${gid}$`));
      if (uid !== '0') assert.match(capLine ?? '', /^CapPrm:\s+0+$/, 'a non-root user keeps no capabilities');
    }
  });

  it('fails with a KilnError for an unknown user or group and a missing command', async () => {
    await assert.rejects(step({ ...dir(), user: 'ghost' }, 'true'),
      (err) => isKilnError(err) && err.code === 'RUN_USER' && /unable to find user ghost/.test(err.message));
    await assert.rejects(step({ ...dir(), user: 'app:ghosts' }, 'true'),
      (err) => isKilnError(err) && /unable to find group ghosts/.test(err.message));
    await assert.rejects(runStep({ ...dir(), argv: ['no-such-cmd'], env: ['PATH=/bin'], cwd: '/', user: '',
      isolation: 'namespace', network: 'host', mounts: [] }),
    (err) => isKilnError(err) && err.code === 'RUN_EXEC' && /no-such-cmd/.test(err.message));
  });

  it('has /proc of its own pid namespace, read-only /sys and a /dev with real device nodes', async () => {
    const out = await step(dir(), [
      'echo pid=$$', 'stat -c %F /dev/null /dev/zero /dev/urandom /dev/tty', 'echo x > /dev/null && echo null-ok',
      'head -c 4 /dev/zero | od -An -tx1', 'ls /dev/pts/ptmx', 'readlink /dev/ptmx', 'touch /sys/x 2>/dev/null || echo sys-ro',
      'touch /dev/shm/ok && echo shm-ok',
    ].join('; '));
    const lines = out.stdout.trim().split('\n').map((l) => l.trim());
    assert.equal(lines[0], 'pid=1', 'the step is pid 1 of its namespace, as runc runs it for BuildKit');
    assert.deepEqual(lines.slice(1, 5), Array(4).fill('character special file'));
    assert.deepEqual(lines.slice(5), ['null-ok', '00 00 00 00', '/dev/pts/ptmx', 'pts/ptmx', 'sys-ro', 'shm-ok']);
    for (const stub of ['/proc', '/sys', '/dev']) assert.ok(out.mountStubs.includes(stub), stub);
    for (const name of ['proc', 'sys', 'dev']) assert.equal(existsSync(join(root, name)), false, `${name} stub removed`);
  });

  it('shows copies of the host resolv.conf/hosts/hostname and leaves nothing in the rootfs', async () => {
    const hostFiles = join(work, 'hostfiles');
    mkdirSync(hostFiles, { recursive: true });
    writeFileSync(join(hostFiles, 'resolv.conf'), 'nameserver 192.0.2.53\n');
    writeFileSync(join(hostFiles, 'hostname'), 'kiln-test-host\n');
    const out = await step({ ...dir(), hostsFiles: { resolvConf: join(hostFiles, 'resolv.conf'), hostname: join(hostFiles, 'hostname') } },
      'cat /etc/resolv.conf; hostname; cat /etc/hostname; echo changed > /etc/resolv.conf; cat /etc/resolv.conf');
    assert.equal(out.stdout, 'nameserver 192.0.2.53\nkiln-test-host\nkiln-test-host\nchanged\n');
    assert.equal(readFileSync(join(hostFiles, 'resolv.conf'), 'utf8'), 'nameserver 192.0.2.53\n', 'the source is a copy');
    assert.ok(out.mountStubs.includes('/etc/resolv.conf'));
    assert.ok(out.mountStubs.includes('/etc/hosts'));
    assert.deepEqual(readdirSync(join(root, 'etc')).sort(), ['group', 'passwd']);
  });

  it('keeps the image\'s own /etc/hosts untouched while showing the host copy', async () => {
    writeFileSync(join(root, 'etc/hosts'), 'image hosts\n');
    try {
      const out = await step(dir(), 'cat /etc/hosts');
      assert.notEqual(out.stdout, 'image hosts\n');
      assert.equal(out.mountStubs.includes('/etc/hosts'), false, 'an existing file is no stub');
      assert.equal(readFileSync(join(root, 'etc/hosts'), 'utf8'), 'image hosts\n');
    } finally {
      removeDir(join(root, 'etc/hosts'));
    }
  });

  it('writes of an overlay rootfs land in the upper dir, never in the lower dirs', async () => {
    const upper = join(work, 'upper');
    const ovWork = join(work, 'ovwork');
    const top = join(work, 'top');
    for (const d of [upper, ovWork, join(top, 'etc')]) mkdirSync(d, { recursive: true });
    writeFileSync(join(top, 'etc/motd'), 'from the top layer\n');
    const rootfs = { kind: 'overlay' as const, lower: [top, root], upper, work: ovWork };
    const out = await step({ rootfs, tempDir: steps },
      'cat /etc/motd; echo new > /created; rm /bin/true; mkdir -p /a/b; echo x > /a/b/c');
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(out.stdout, 'from the top layer\n');
    assert.equal(readFileSync(join(upper, 'created'), 'utf8'), 'new\n');
    assert.ok(lstatSync(join(upper, 'bin/true')).isCharacterDevice(), 'deletion is an overlay whiteout');
    assert.ok(lstatSync(join(root, 'bin/true')).isSymbolicLink(), 'lower untouched');
    assert.equal(existsSync(join(root, 'created')), false);
    assert.equal(readFileSync(join(upper, 'a/b/c'), 'utf8'), 'x\n');
    for (const stub of ['proc', 'sys', 'dev', 'etc/resolv.conf']) assert.equal(existsSync(join(upper, stub)), false, stub);
    assert.ok(out.mountStubs.includes('/etc/resolv.conf'));
  });

  it('runs on an empty overlay (FROM scratch) without a lower dir', async () => {
    const upper = join(work, 'scratch-upper');
    const ovWork = join(work, 'scratch-work');
    mkdirSync(upper);
    mkdirSync(ovWork);
    const result = await runStep({ rootfs: { kind: 'overlay', lower: [], upper, work: ovWork }, argv: ['/nothing'],
      env: [], cwd: '/', user: '0:0', isolation: 'namespace', network: 'host', mounts: [], tempDir: steps }).catch((e: unknown) => e);
    assert.ok(isKilnError(result) && result.code === 'RUN_EXEC', 'gets as far as exec');
  });

  it('network none has only a working loopback', async () => {
    const out = await step({ ...dir(), network: 'none' }, 'ls /sys/class/net; ip -o addr show lo | grep -c "127.0.0.1"');
    assert.equal(out.stdout, 'lo\n1\n');
    const host = await step(dir(), 'ls /sys/class/net | wc -l');
    assert.ok(Number(host.stdout.trim()) >= 1);
  });

  it('kills background processes when the step ends', async () => {
    const out = await step(dir(), 'sleep 4242 & echo started');
    assert.equal(out.stdout, 'started\n');
    assert.deepEqual(pidsWithCmdline('sleep 4242'), []);
  });

  it('abort kills a long step and leaves no processes, mounts or temp dirs', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 300);
    await assert.rejects(step({ ...dir(), signal: controller.signal }, 'sleep 4343 & sleep 4343'),
      (err) => isKilnError(err) && err.code === 'RUN_ABORTED');
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(pidsWithCmdline('sleep 4343'), []);
    assert.deepEqual(readdirSync(steps), [], 'step temp dir removed');
    assert.deepEqual(mountsUnder(work), []);
    assert.equal(existsSync(join(root, 'proc')), false, 'stubs removed after an abort too');
  });

  it('a scratch dir the caller removes is removed off the main thread, soon after the step', async () => {
    const out = await step({ ...dir(), tempDirRemovedByCaller: true }, 'echo ok');
    assert.equal(out.stdout, 'ok\n');
    for (let i = 0; i < 100 && readdirSync(steps).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(readdirSync(steps), [], 'step scratch dir removed');
    assert.deepEqual(mountsUnder(work), []);
  });

  it('rejects at once when already aborted', async () => {
    await assert.rejects(step({ ...dir(), signal: AbortSignal.abort() }, 'true'), (err) => isKilnError(err) && err.code === 'RUN_ABORTED');
  });

  it('never mounts anything in the caller\'s mount namespace', () => {
    assert.deepEqual(mountsUnder(work), []);
  });
});
