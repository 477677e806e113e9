/**
 * --custom-platform against a single-platform base: BuildKit's warning naming both platforms, and RUN refused
 * with a clear error when the host cannot execute the image's programs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { baseImageLayout, baseImageRefNames } from '../../env/base-images.ts';
import { canExecute } from '../../../src/builder/platform-check.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

test('--custom-platform linux/arm64 with an amd64-only base builds on it with a warning naming both platforms', async (t) => {
  const layout = await baseImageLayout('busybox');
  const ctx = context(t, { Dockerfile: 'FROM busybox\nLABEL built=yes\n' });
  const out = tempDir(t, 'kiln-out-');
  const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'oci'), '--custom-platform', 'linux/arm64',
    '--base-image-source', `busybox=oci:${layout}:${baseImageRefNames.busybox}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Dockerfile:1: InvalidBaseImagePlatform: Base image busybox was pulled with platform \\?"linux\/amd64\\?", expected \\?"linux\/arm64\\?" for current build/);
});

test('RUN on an image of a platform the host cannot execute fails clearly, before running anything', async (t) => {
  const out = tempDir(t, 'kiln-out-');
  // An arm64 image: FROM scratch built for linux/arm64.
  const armLayout = path.join(out, 'arm64');
  const base = context(t, { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' });
  const made = await kiln(['build', '--context', base, '--no-push', '--oci-layout-path', armLayout, '--custom-platform', 'linux/arm64']);
  assert.equal(made.status, 0, made.stderr);

  const ctx = context(t, { Dockerfile: 'FROM armbase\nRUN true\n' });
  const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'oci'), '--custom-platform', 'linux/arm64',
    '--base-image-source', `armbase=oci:${armLayout}:latest`]);
  if (canExecute({ os: 'linux', architecture: 'arm64' })) {
    // An emulator is registered here: the step runs (and fails only because the image has no /bin/sh).
    assert.doesNotMatch(r.stderr, /cannot run RUN steps for linux\/arm64/);
  } else {
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /error: cannot run RUN steps for linux\/arm64 on this linux\/amd64 host: binfmt_misc is not mounted/);
    assert.match(r.stderr, /hint: .*binfmt --install arm64/);
  }

  const windows = context(t, { Dockerfile: 'FROM scratch\nRUN true\n' });
  const w = await kiln(['build', '--context', windows, '--no-push', '--oci-layout-path', path.join(out, 'win'), '--custom-platform', 'windows/amd64']);
  assert.equal(w.status, 1, w.stderr);
  assert.match(w.stderr, /cannot run RUN steps for windows\/amd64 on this linux\/amd64 host: RUN needs a linux platform/);
});
