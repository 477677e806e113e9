/**
 * none mode (kaniko's model: the step runs on / of Kiln's own container). Never exercised on this machine's
 * /: Kiln runs inside a jail — a private mount and pid namespace chrooted into a throwaway root that gets
 * the host's /usr read-only, /dev, a fresh /proc and this checkout read-only — and the step writes there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunSpec } from '../../../src/sandbox/index.ts';
import { group, makeTempDir, mountsUnder, passwd, pidsWithCmdline, removeDir, skipUnlessRoot } from './helpers.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const runner = fileURLToPath(new URL('./fixtures/run-steps.ts', import.meta.url));
/** Every step checks this first, so a step that somehow is not in the jail writes nothing. */
const inJail = '[ -e /kiln-jail-sentinel ] || exit 99;';

interface FixtureResult { exitCode?: number; mountStubs?: string[]; isolation?: string; error?: { code: string }; stdout: string; stderr: string }

function makeJail(jail: string): void {
  for (const dir of ['usr', 'dev', 'proc', 'tmp', 'etc', repoRoot.slice(1)]) mkdirSync(join(jail, dir), { recursive: true });
  for (const [name, target] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']]) {
    symlinkSync(target as string, join(jail, name as string));
  }
  writeFileSync(join(jail, 'etc/passwd'), passwd);
  writeFileSync(join(jail, 'etc/group'), group);
  writeFileSync(join(jail, 'kiln-jail-sentinel'), '');
  mkdirSync(join(jail, 'bind-src'));
  writeFileSync(join(jail, 'bind-src/f'), 'bind-file');
  mkdirSync(join(jail, 'cache-src'));
}

function runInJail(jail: string, specs: Array<Partial<RunSpec>>): { detected: string; results: FixtureResult[] } {
  const script = [
    'set -eu',
    'mount --rbind /usr "$J/usr"', 'mount -o remount,bind,ro "$J/usr"',
    'mount --rbind /dev "$J/dev"',
    'mount --bind "$R" "$J$R"', 'mount -o remount,bind,ro "$J$R"',
    'mount -t proc proc "$J/proc"',
    'exec chroot "$J" "$N" "$S"',
  ].join('\n');
  const child = spawnSync('unshare', ['--mount', '--pid', '--fork', '--kill-child', '--', 'sh', '-c', script], {
    input: JSON.stringify(specs), encoding: 'utf8', timeout: 60_000,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', J: jail, R: repoRoot, N: process.execPath, S: runner },
  });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { detected: string; results: FixtureResult[] };
}

describe('runStep none mode (inside a jail)', { skip: skipUnlessRoot }, () => {
  let jail: string;
  before(() => {
    jail = makeTempDir('kiln-sandbox-jail-');
    chmodSync(jail, 0o755);
    makeJail(jail);
  });
  after(() => removeDir(jail));

  it('runs on / with the given env, cwd and user, and cleans up its processes', () => {
    const base = { rootfs: { kind: 'dir' as const, path: '/' }, env: ['PATH=/usr/bin:/bin', 'ONLY=this'], cwd: '/none-cwd',
      user: '', isolation: 'none' as const, network: 'host' as const, mounts: [] };
    const { results } = runInJail(jail, [
      { ...base, argv: ['/bin/sh', '-c', `${inJail} echo written > /marker; pwd; echo "$ONLY:$HOME"; exit 4`] },
      { ...base, user: 'app', argv: ['/bin/sh', '-c', `${inJail} echo "$(id -u):$(id -g):$(id -G):$HOME"`] },
      { ...base, argv: ['/bin/sh', '-c', `${inJail} sleep 6161 & setsid sleep 6161 & echo bg`] },
      { ...base, rootfs: { kind: 'dir', path: '/tmp' }, argv: ['true'] },
      { ...base, mounts: [
        { type: 'bind', source: '/bind-src', target: '/x', readOnly: true },
        { type: 'cache', source: '/cache-src', target: '/var/cache/c', readOnly: false },
        { type: 'secret', content: { type: 'Buffer', data: [...Buffer.from('in-memory')] } as unknown as Buffer, target: '/run/secrets/s', readOnly: true },
      ], argv: ['/bin/sh', '-c', `${inJail} cat /x/f /run/secrets/s; echo new >> /var/cache/c/log`] },
    ]);
    const [first, user, background, notRoot, mount] = results as [FixtureResult, ...FixtureResult[]];
    assert.equal(first.isolation, 'none');
    assert.equal(first.exitCode, 4, first.stderr);
    assert.equal(first.stdout, '/none-cwd\nthis:/root\n');
    assert.deepEqual(first.mountStubs, []);
    assert.equal(readFileSync(join(jail, 'marker'), 'utf8'), 'written\n', 'the write landed in the jail');
    assert.equal(existsSync('/marker'), false);
    assert.ok(existsSync(join(jail, 'none-cwd')));
    assert.equal(user?.stdout, '1000:1000:1000 2000 2001:/home/app\n', user?.stderr);
    assert.equal(background?.stdout, 'bg\n');
    assert.equal(notRoot?.error?.code, 'RUN_ROOTFS');
    assert.equal(mount?.exitCode, 0, mount?.stderr);
    assert.equal(mount?.stdout, 'bind-filein-memory', 'mounts are emulated in place too');
    assert.equal(readFileSync(join(jail, 'cache-src/log'), 'utf8'), 'new\n', 'the cache kept the step\'s write');
    for (const gone of ['x', 'var', 'run']) assert.equal(existsSync(join(jail, gone)), false, `${gone} taken out again`);
    assert.deepEqual(mount?.mountStubs, ['/x', '/var', '/var/cache', '/var/cache/c', '/run', '/run/secrets', '/run/secrets/s']);
    assert.deepEqual(pidsWithCmdline('sleep 6161'), []);
    assert.deepEqual(mountsUnder(jail), [], 'the jail\'s mounts died with its namespace');
  });
});
