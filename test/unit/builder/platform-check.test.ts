import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { basePlatformWarning, canExecute, checkRunnable } from '../../../src/builder/platform-check.ts';
import type { ConfigFile } from '../../../src/image/types.ts';

const amd64 = { os: 'linux', architecture: 'amd64' };
const config = (architecture: string, osName = 'linux'): ConfigFile => ({ architecture, os: osName, config: {}, rootfs: { type: 'layers', diff_ids: [] } }) as ConfigFile;

test('a host runs its own architecture, its native extras, and what an enabled binfmt_misc handler emulates', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-binfmt-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const none = path.join(dir, 'absent');
  assert.equal(canExecute({ os: 'linux', architecture: 'amd64' }, amd64, none), true);
  assert.equal(canExecute({ os: 'linux', architecture: '386' }, amd64, none), true);
  assert.equal(canExecute({ os: 'linux', architecture: 'arm64' }, amd64, none), false);
  assert.equal(canExecute({ os: 'windows', architecture: 'amd64' }, amd64, none), false);
  fs.writeFileSync(path.join(dir, 'status'), 'enabled\n');
  fs.writeFileSync(path.join(dir, 'qemu-aarch64'), 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n');
  fs.writeFileSync(path.join(dir, 'qemu-riscv64'), 'disabled\n');
  assert.equal(canExecute({ os: 'linux', architecture: 'arm64' }, amd64, dir), true);
  assert.equal(canExecute({ os: 'linux', architecture: 'riscv64' }, amd64, dir), false);
  assert.throws(() => checkRunnable(config('riscv64'), amd64, dir), /cannot RUN on a linux\/riscv64 image: this linux\/amd64 host/);
  checkRunnable(config('arm64'), amd64, dir);
});

test('the base-platform warning names both platforms, and only when they differ', () => {
  assert.equal(basePlatformWarning('busybox', amd64, config('amd64')), undefined);
  assert.equal(basePlatformWarning('busybox', { os: 'linux', architecture: 'arm64' }, config('amd64')),
    'InvalidBaseImagePlatform: Base image busybox was pulled with platform "linux/amd64", expected "linux/arm64" for current build');
});
