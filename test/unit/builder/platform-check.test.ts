import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { basePlatformWarning, canExecute, checkRunnable, checkStagesRunnable, stagePlatform } from '../../../src/builder/platform-check.ts';
import { loadDockerfile } from '../../../src/dockerfile/index.ts';
import { readBinfmtState } from '../../../src/builder/emulation.ts';
import type { ConfigFile } from '../../../src/image/types.ts';

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };
const config = (architecture: string, osName = 'linux'): ConfigFile => ({ architecture, os: osName, config: {}, rootfs: { type: 'layers', diff_ids: [] } }) as ConfigFile;
const qemuEntry = (flags: string) => `enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: ${flags}\noffset 0\n` +
  'magic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n';

function binfmtDir(t: { after(fn: () => void): void }, entries: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-binfmt-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'status'), 'enabled\n');
  fs.writeFileSync(path.join(dir, 'register'), '');
  for (const [name, text] of Object.entries(entries)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

test('a host runs its own architecture, its native extras, and what an F-flag binfmt_misc emulator runs', (t) => {
  const none = readBinfmtState(path.join(os.tmpdir(), 'kiln-absent-binfmt'));
  assert.equal(canExecute(amd64, amd64, none), true);
  assert.equal(canExecute({ os: 'linux', architecture: '386' }, amd64, none), true);
  assert.equal(canExecute(arm64, amd64, none), false);
  assert.equal(canExecute({ os: 'windows', architecture: 'amd64' }, amd64, none), false);
  const withF = readBinfmtState(binfmtDir(t, { 'qemu-aarch64': qemuEntry('F') }));
  assert.equal(canExecute(arm64, amd64, withF), true);
  assert.equal(canExecute({ os: 'linux', architecture: 'riscv64' }, amd64, withF), false);
  assert.throws(() => checkRunnable(config('riscv64'), amd64, withF), /cannot run RUN steps for linux\/riscv64 on this linux\/amd64 host: no emulator is registered/);
  checkRunnable(config('arm64'), amd64, withF);
  // Registered without F: the emulator's path does not exist inside the build's rootfs.
  const withoutF = readBinfmtState(binfmtDir(t, { 'qemu-aarch64': qemuEntry('OC') }));
  assert.throws(() => checkRunnable(config('arm64'), amd64, withoutF), (err: Error & { hint?: string }) => {
    assert.match(err.message, /lacks the F flag/);
    assert.match(err.hint ?? '', /tonistiigi\/binfmt --install arm64/);
    return true;
  });
});

test('stages with RUN are checked for their own platform: FROM --platform=$BUILDPLATFORM runs natively', (t) => {
  const none = readBinfmtState(path.join(os.tmpdir(), 'kiln-absent-binfmt'));
  const text = 'FROM --platform=$BUILDPLATFORM busybox AS build\nRUN true\nFROM build AS more\nRUN true\nFROM busybox\nCOPY --from=more /x /x\n';
  const graph = loadDockerfile(text, { targetPlatform: arm64, buildPlatform: amd64 });
  assert.deepEqual(stagePlatform(graph.stages[1], graph.stages, arm64), amd64);
  assert.deepEqual(stagePlatform(graph.stages[2], graph.stages, arm64), arm64);
  // Only the build stages run steps, natively: no emulator needed for an arm64 target.
  checkStagesRunnable(graph.stages, graph.stages, arm64, amd64, none);
  const running = loadDockerfile('FROM busybox\nRUN true\n', { targetPlatform: arm64, buildPlatform: amd64 });
  assert.throws(() => checkStagesRunnable(running.stages, running.stages, arm64, amd64, none), /cannot run RUN steps for linux\/arm64/);
  checkStagesRunnable(running.stages, running.stages, arm64, amd64, readBinfmtState(binfmtDir(t, { 'qemu-aarch64': qemuEntry('POCF') })));
});

test('the base-platform warning names both platforms, and only when they differ', () => {
  assert.equal(basePlatformWarning('busybox', amd64, config('amd64')), undefined);
  assert.equal(basePlatformWarning('busybox', arm64, config('amd64')),
    'InvalidBaseImagePlatform: Base image busybox was pulled with platform "linux/amd64", expected "linux/arm64" for current build');
});
