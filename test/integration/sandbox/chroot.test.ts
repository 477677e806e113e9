/**
 * chroot mode, as in a default Kubernetes pod: CAP_SYS_ADMIN is dropped with capsh, so no namespace or
 * mount is possible; Kiln runs in a child process under capsh and reports back as JSON.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunSpec } from '../../../src/sandbox/index.ts';
import { makeBusyboxRootfs, makeTempDir, pidsWithCmdline, removeDir, skipUnlessRoot } from './helpers.ts';
import { unmet } from '../../env/requirements.ts';

const runner = fileURLToPath(new URL('./fixtures/run-steps.ts', import.meta.url));
const noUserns = fileURLToPath(new URL('./fixtures/no-userns.pl', import.meta.url));
const hasCapsh = spawnSync('capsh', ['--help'], { stdio: 'ignore' }).status === 0;

interface FixtureResult {
  exitCode?: number;
  mountStubs?: string[];
  isolation?: string;
  error?: { code: string; message: string };
  stdout: string;
  stderr: string;
}

function runWithoutSysAdmin(specs: Array<Partial<RunSpec> & { abortAfterMs?: number }>): { detected: string; results: FixtureResult[] } {
  const quoted = [process.execPath, runner].map((a) => `'${a}'`).join(' ');
  // Also no user namespaces (seccomp refuses unshare, as docker's default profile does): chroot is all that is left.
  const child = spawnSync('perl', [noUserns, 'capsh', '--drop=cap_sys_admin', '--', '-c', `exec ${quoted}`], {
    input: JSON.stringify(specs), encoding: 'utf8', timeout: 60_000,
  });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { detected: string; results: FixtureResult[] };
}

describe('runStep chroot mode (no CAP_SYS_ADMIN)', { skip: skipUnlessRoot || unmet(!hasCapsh && 'capsh (libcap2-bin) missing') }, () => {
  let work: string;
  let root: string;
  let steps: string;
  before(() => {
    work = makeTempDir('kiln-sandbox-chroot-');
    root = join(work, 'root');
    steps = join(work, 'steps');
    mkdirSync(steps);
    makeBusyboxRootfs(root);
  });
  after(() => removeDir(work));

  it('auto picks chroot, and a step sees /dev nodes and resolv.conf but no /proc; stubs are removed', () => {
    const base = { rootfs: { kind: 'dir' as const, path: root }, env: ['PATH=/usr/bin:/bin'], cwd: '/w', user: '',
      isolation: 'auto' as const, network: 'default' as const, mounts: [], tempDir: steps };
    const { detected, results } = runWithoutSysAdmin([
      { ...base, argv: ['/bin/sh', '-c', 'stat -c %F /dev/null; echo x > /dev/null && echo null-ok; test -e /proc/self || echo no-proc;'
        + ' grep -c nameserver /etc/resolv.conf; pwd; exit 7'] },
      { ...base, user: 'app', argv: ['/bin/sh', '-c', 'echo "$(id -u):$(id -g):$(id -G):$HOME"'] },
      { ...base, argv: ['/bin/sh', '-c', 'sleep 5151 & setsid sleep 5151 & echo bg'] },
      { ...base, argv: ['/bin/sh', '-c', 'sleep 5252 & sleep 5252'], abortAfterMs: 300 },
      { ...base, rootfs: { kind: 'overlay', lower: [root], upper: join(work, 'u'), work: join(work, 'w') }, argv: ['true'] },
      { ...base, mounts: [{ type: 'tmpfs', target: '/t', readOnly: false }], argv: ['true'] },
      { ...base, network: 'none', argv: ['true'] },
    ]);
    assert.equal(detected, 'chroot');
    const [first, user, background, aborted, overlay, mount, network] = results as [FixtureResult, ...FixtureResult[]];
    assert.equal(first.isolation, 'chroot');
    assert.equal(first.exitCode, 7);
    assert.equal(first.stdout, 'character special file\nnull-ok\nno-proc\n1\n/w\n', first.stderr);
    assert.ok(first.mountStubs?.includes('/dev/null'));
    assert.ok(first.mountStubs?.includes('/etc/resolv.conf'));
    assert.equal(user?.stdout, '1000:1000:1000 2000 2001:/home/app\n');
    assert.equal(background?.stdout, 'bg\n');
    assert.equal(aborted?.error?.code, 'RUN_ABORTED');
    assert.equal(overlay?.error?.code, 'RUN_ROOTFS');
    assert.equal(mount?.exitCode, 0, 'mounts are emulated');
    assert.equal(network?.error?.code, 'RUN_NETWORK');
    assert.deepEqual(pidsWithCmdline('sleep 5151'), [], 'background processes, even in a new session, are gone');
    assert.deepEqual(pidsWithCmdline('sleep 5252'), [], 'an aborted step leaves no process');
    assert.equal(existsSync(join(root, 'dev')), false, 'device stubs removed');
    assert.deepEqual(readdirSync(join(root, 'etc')).sort(), ['group', 'passwd']);
    assert.ok(existsSync(join(root, 'w')), 'the working directory stays');
    assert.deepEqual(readdirSync(steps), []);
  });

  it('emulates every mount type in the rootfs for the step and takes it all out again', () => {
    const cache = join(work, 'cache');
    const ctx = join(work, 'ctx');
    mkdirSync(cache);
    mkdirSync(ctx);
    writeFileSync(join(cache, 'log'), 'old\n');
    writeFileSync(join(ctx, 'hello'), 'hi\n');
    writeFileSync(join(work, 'secret'), 'file-secret');
    mkdirSync(join(root, 'keep'));
    writeFileSync(join(root, 'keep/own'), 'own');
    const memorySecret = { type: 'Buffer', data: [...Buffer.from('memory-secret')] };
    const { results } = runWithoutSysAdmin([{
      rootfs: { kind: 'dir', path: root }, env: ['PATH=/bin'], cwd: '/', user: '', isolation: 'chroot', network: 'default',
      tempDir: steps,
      mounts: [
        { type: 'cache', source: cache, target: '/var/cache/c', readOnly: false },
        { type: 'bind', source: ctx, target: '/src', readOnly: true },
        { type: 'tmpfs', target: '/keep', readOnly: false },
        { type: 'secret', source: join(work, 'secret'), target: '/run/secrets/f', readOnly: true, mode: 0o440, uid: 1000, gid: 0 },
        // JSON carries the Buffer as {type, data}: the fixture revives it.
        { type: 'secret', content: memorySecret as unknown as Buffer, target: '/run/secrets/m', readOnly: true, env: 'M' },
      ],
      argv: ['/bin/sh', '-c', 'echo new >> /var/cache/c/log; cat /src/hello; ls -A /keep; touch /keep/x; stat -c "%a %u" /run/secrets/f;'
        + ' cat /run/secrets/f /run/secrets/m; echo; echo "$M"'],
    }]);
    const [result] = results as [FixtureResult];
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, 'hi\n440 1000\nfile-secretmemory-secret\nmemory-secret\n');
    assert.equal(readFileSync(join(cache, 'log'), 'utf8'), 'old\nnew\n', 'the cache kept what the step wrote');
    assert.deepEqual(readdirSync(join(root, 'keep')), ['own'], 'the rootfs\'s own dir is back, the tmpfs files gone');
    assert.equal(readFileSync(join(root, 'keep/own'), 'utf8'), 'own');
    for (const gone of ['var', 'src', 'run', 'dev']) assert.equal(existsSync(join(root, gone)), false, `${gone} removed`);
    assert.ok(['/var', '/var/cache', '/var/cache/c', '/src', '/run', '/run/secrets', '/run/secrets/f'].every((p) => result.mountStubs?.includes(p)),
      String(result.mountStubs));
    assert.equal(statSync(join(work, 'secret')).mode & 0o777, 0o644, 'the host secret file is untouched');
    assert.deepEqual(readdirSync(steps), []);
  });
});
