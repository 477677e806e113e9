import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elfHeaderOf, entryMatches, executionSupport, parseBinfmtEntry, type BinfmtState } from '../../../src/builder/emulation.ts';

// What the kernel shows for Debian's qemu-user-static entry (flags as registered by systemd-binfmt).
const aarch64 = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: POCF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;
const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };
const state = (...texts: [string, string][]): BinfmtState => ({
  mounted: true,
  enabled: true,
  entries: texts.map(([n, t]) => parseBinfmtEntry(n, t)!),
});

test('a binfmt_misc entry parses into magic, mask, flags and interpreter', () => {
  const e = parseBinfmtEntry('qemu-aarch64', aarch64)!;
  assert.equal(e.enabled, true);
  assert.equal(e.interpreter, '/usr/libexec/qemu-binfmt/aarch64-binfmt-P');
  assert.equal(e.flags, 'POCF');
  assert.equal(e.offset, 0);
  assert.equal(e.magic.length, 20);
  assert.equal(e.mask.toString('hex'), 'ffffffffffffff00fffffffffffffffffeffffff');
  assert.equal(parseBinfmtEntry('python3.11', 'enabled\ninterpreter /usr/bin/python3.11\nflags: \nextension .pyc\n'), undefined);
});

test('ELF headers: the aarch64 magic claims arm64 executables and nothing else', () => {
  const e = parseBinfmtEntry('qemu-aarch64', aarch64)!;
  assert.ok(entryMatches(e, elfHeaderOf('arm64')!));
  for (const arch of ['amd64', 'arm', 'riscv64', 's390x', 'ppc64le']) assert.ok(!entryMatches(e, elfHeaderOf(arch)!), arch);
  assert.equal(elfHeaderOf('sparc'), undefined);
});

test('native, emulated, and each reason a platform cannot run', () => {
  const none: BinfmtState = { mounted: false, enabled: false, entries: [] };
  assert.deepEqual(executionSupport(amd64, amd64, none), { kind: 'native' });
  assert.deepEqual(executionSupport({ os: 'linux', architecture: '386' }, amd64, none), { kind: 'native' });
  assert.deepEqual(executionSupport(arm64, amd64, state(['qemu-aarch64', aarch64])), {
    kind: 'emulated', emulator: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', entry: 'qemu-aarch64',
  });
  const reason = (s: BinfmtState, target = arm64) => {
    const r = executionSupport(target, amd64, s);
    assert.equal(r.kind, 'unavailable');
    return r.kind === 'unavailable' ? r.reason : '';
  };
  assert.match(reason(none), /not mounted/);
  assert.match(reason({ ...state(['qemu-aarch64', aarch64]), enabled: false }), /disabled/);
  assert.match(reason(state(['qemu-aarch64', aarch64.replace('POCF', 'P')])), /lacks the F flag/);
  assert.match(reason(state(['qemu-aarch64', aarch64.replace('enabled', 'disabled')])), /no emulator is registered .* arm64/);
  assert.match(reason(state(['qemu-aarch64', aarch64]), { os: 'linux', architecture: 'riscv64' }), /no emulator .* riscv64/);
  assert.match(reason(none, { os: 'windows', architecture: 'amd64' }), /linux platform/);
});
