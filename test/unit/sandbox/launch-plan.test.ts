import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isKilnError } from '../../../src/errors.ts';
import { buildPlan, encodePlan, encodeSecretInputs, normalizeTarget, overlayRecord, secretInputs, sortMounts } from '../../../src/sandbox/launch-plan.ts';
import type { PlanContext, PlanRecord } from '../../../src/sandbox/launch-plan.ts';
import { launchCommand } from '../../../src/sandbox/step-process.ts';
import type { RunSpec } from '../../../src/sandbox/types.ts';

const context: PlanContext = { isolation: 'namespace', stepDir: '/tmp/kiln-step-1', parentPid: 42, arch: 'x64' };
const base: RunSpec = {
  rootfs: { kind: 'dir', path: '/var/lib/kiln/rootfs' }, argv: ['/bin/sh', '-c', 'echo hi'], env: ['PATH=/bin'],
  cwd: '/app', user: '', isolation: 'namespace', network: 'default', mounts: [],
};
const allExist = () => true;
const record = (records: PlanRecord[], name: string) => records.filter(([n]) => n === name).map(([, args]) => args);
const kilnError = (code: string) => (err: unknown) => isKilnError(err) && err.code === code;

describe('buildPlan', () => {
  it('namespace: scratch tmpfs in the step dir, the root, host files, env and argv as given', () => {
    const records = buildPlan(base, context, allExist);
    assert.deepEqual(record(records, 'scratch'), [['/tmp/kiln-step-1/ns']]);
    assert.deepEqual(record(records, 'root'), [['dir', '/var/lib/kiln/rootfs']]);
    assert.deepEqual(record(records, 'file').map(([target]) => target), ['/etc/resolv.conf', '/etc/hosts', '/etc/hostname']);
    assert.deepEqual(record(records, 'env'), [['PATH=/bin']]);
    assert.deepEqual(record(records, 'argv'), [['/bin/sh', '-c', 'echo hi']]);
    assert.deepEqual(record(records, 'netnone'), []);
  });

  it('skips host files that do not exist and uses the caller\'s alternatives', () => {
    const records = buildPlan({ ...base, hostsFiles: { resolvConf: '/x/resolv' } }, context, (p) => p !== '/etc/hostname');
    assert.deepEqual(record(records, 'file'), [['/etc/resolv.conf', '/x/resolv'], ['/etc/hosts', '/etc/hosts']]);
    assert.deepEqual(record(records, 'hostname'), []);
  });

  it('network none asks for a new network namespace', () => {
    assert.deepEqual(record(buildPlan({ ...base, network: 'none' }, context, allExist), 'netnone'), [[]]);
  });

  it('mounts: normalized targets, depth order, octal mode; env-only secrets become secretenv', () => {
    const records = buildPlan({ ...base, mounts: [
      { type: 'secret', source: '/s/tok', target: 'run/secrets/tok', readOnly: true, mode: 0o440, uid: 1, gid: 2 },
      { type: 'tmpfs', target: '/run', readOnly: false, size: 1024 },
      { type: 'secret', source: '/s/env', target: '', readOnly: true, env: 'TOKEN' },
    ] }, context, allExist);
    assert.deepEqual(record(records, 'mount'), [
      ['tmpfs', '', '/run', '0', '1024', '', '', '', ''],
      ['secret', '/s/tok', '/run/secrets/tok', '1', '', '440', '1', '2', ''],
    ]);
    assert.deepEqual(record(records, 'secretenv'), [['TOKEN', '/s/env', '']]);
  });

  it('secret values given in memory go to stdin, referenced by index, never into the plan', () => {
    const spec: RunSpec = { ...base, mounts: [
      { type: 'secret', content: Buffer.from('first\nvalue'), target: '/run/secrets/a', readOnly: true },
      { type: 'secret', source: '/s/file', target: '/run/secrets/b', readOnly: true },
      { type: 'secret', content: Buffer.from('second'), target: '', readOnly: true, env: 'B' },
    ] };
    const records = buildPlan(spec, context, allExist);
    assert.deepEqual(record(records, 'mount').map((r) => [r[1], r[8]]), [['', '0'], ['/s/file', '']]);
    assert.deepEqual(record(records, 'secretenv'), [['B', '', '1']]);
    assert.doesNotMatch(encodePlan(records).toString(), /value|second/);
    assert.equal(encodeSecretInputs(secretInputs(spec)).toString(), '11\nfirst\nvalue6\nsecond');
  });

  it('chroot: a chroot record and host files, no scratch', () => {
    const records = buildPlan(base, { ...context, isolation: 'chroot' }, allExist);
    assert.deepEqual(record(records, 'chroot'), [['/var/lib/kiln/rootfs']]);
    assert.deepEqual(record(records, 'scratch'), []);
    assert.equal(record(records, 'file').length, 3);
  });

  it('refuses what a mode cannot do, with KilnErrors', () => {
    const overlay: RunSpec = { ...base, rootfs: { kind: 'overlay', lower: ['/l'], upper: '/u', work: '/w' } };
    assert.throws(() => buildPlan(overlay, { ...context, isolation: 'chroot' }, allExist), kilnError('RUN_ROOTFS'));
    assert.throws(() => buildPlan(base, { ...context, isolation: 'none' }, allExist), kilnError('RUN_ROOTFS'));
    assert.throws(() => buildPlan({ ...base, rootfs: { kind: 'dir', path: '/' } }, context, allExist), kilnError('RUN_ROOTFS'));
    const bind: RunSpec = { ...base, mounts: [{ type: 'bind', source: '/h', target: '/x', readOnly: true }] };
    assert.throws(() => buildPlan(bind, { ...context, isolation: 'chroot' }, allExist), kilnError('RUN_MOUNT_UNSUPPORTED'));
    assert.throws(() => buildPlan({ ...base, network: 'none' }, { ...context, isolation: 'chroot' }, allExist), kilnError('RUN_NETWORK'));
    assert.throws(() => buildPlan({ ...base, argv: [] }, context, allExist), kilnError('RUN_EXEC'));
    assert.throws(() => buildPlan({ ...base, env: ['NOEQUALS'] }, context, allExist), kilnError('RUN_ENV'));
    assert.throws(() => buildPlan({ ...base, mounts: [{ type: 'bind', target: '/x', readOnly: true }] }, context, allExist), kilnError('RUN_MOUNT'));
  });

  it('an env-only secret works without namespaces', () => {
    const spec: RunSpec = { ...base, mounts: [{ type: 'secret', source: '/s', target: '', readOnly: true, env: 'T' }] };
    assert.deepEqual(record(buildPlan(spec, { ...context, isolation: 'chroot' }, allExist), 'secretenv'), [['T', '/s', '']]);
  });
});

describe('overlayRecord', () => {
  it('absolute paths when the options fit in a page, an empty lower for FROM scratch', () => {
    assert.deepEqual(overlayRecord({ kind: 'overlay', lower: ['/l/2', '/l/1'], upper: '/u', work: '/w' }, '/e'),
      ['overlay', '', '/u', '/w', '/l/2', '/l/1']);
    assert.deepEqual(overlayRecord({ kind: 'overlay', lower: [], upper: '/u', work: '/w' }, '/e'), ['overlay', '', '/u', '/w', '/e']);
  });

  it('paths relative to their common dir when 100 long lower dirs would not fit', () => {
    const dir = '/var/lib/kiln/a-rather-long-work-directory-name/layers';
    const lower = Array.from({ length: 100 }, (_, i) => `${dir}/${'x'.repeat(40)}${i}`);
    const [kind, baseDir, upper, work, ...rel] = overlayRecord({ kind: 'overlay', lower, upper: `${dir}/up`, work: `${dir}/wk` }, '/e');
    assert.equal(kind, 'overlay');
    assert.equal(baseDir, dir);
    assert.equal(upper, 'up');
    assert.equal(work, 'wk');
    assert.equal(rel[0], `${'x'.repeat(40)}0`);
  });

  it('refuses paths overlayfs cannot parse', () => {
    assert.throws(() => overlayRecord({ kind: 'overlay', lower: ['/a:b'], upper: '/u', work: '/w' }, '/e'), kilnError('RUN_ROOTFS'));
  });
});

describe('plan helpers', () => {
  it('normalizeTarget resolves from /', () => {
    assert.equal(normalizeTarget('run/../x/'), '/x');
    assert.equal(normalizeTarget('/../../etc'), '/etc');
  });

  it('sortMounts is a stable depth sort', () => {
    const m = (target: string) => ({ type: 'tmpfs' as const, target, readOnly: false });
    assert.deepEqual(sortMounts([m('/a/b/c'), m('/z'), m('/a'), m('/y')]).map((x) => x.target), ['/z', '/a', '/y', '/a/b/c']);
  });

  it('encodePlan writes name, count, args, NUL-separated', () => {
    assert.equal(encodePlan([['env', ['A=1', 'B=']], ['netnone', []]]).toString(), 'env\x002\x00A=1\x00B=\x00netnone\x000\x00');
  });

  it('launchCommand: unshare under setpriv for namespace, perl alone otherwise', () => {
    const ns = launchCommand('namespace', 'none');
    assert.deepEqual(ns.slice(0, 4), ['setpriv', '--pdeathsig', 'KILL', '--']);
    assert.ok(ns.includes('--net') && ns.includes('--kill-child'));
    assert.equal(launchCommand('namespace', 'host').includes('--net'), false);
    assert.ok(launchCommand('chroot', 'default').at(-1)!.endsWith('/launcher.pl'), 'the plan comes on stdin, not in argv');
    assert.equal(launchCommand('chroot', 'default')[0], 'perl');
  });

  it('launchCommand: userns enters a user namespace first, then the same unshare', () => {
    const userns = launchCommand('userns', 'default');
    const [first, second] = [userns.findIndex((a) => a.endsWith('/userns-entry.pl')), userns.indexOf('unshare')];
    assert.ok(first > 0 && second > first, userns.join(' '));
    assert.deepEqual(userns.slice(first + 1, first + 3), [process.arch, '--']);
    assert.ok(userns.at(-1)!.endsWith('/launcher.pl'), userns.join(' '));
  });
});
