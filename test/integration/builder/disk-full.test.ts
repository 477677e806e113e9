/**
 * An output filesystem that fills up: a 64 KiB tmpfs mounted in a private mount namespace (root; the host's
 * mounts are untouched) receives an OCI layout, a docker archive and a digest file that do not fit. Kiln
 * says "no space left on device" with the path, exits 1, and leaves nothing on the small filesystem.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { context, KILN, tempDir } from './kiln-process.ts';

/** Runs kiln with a tiny tmpfs at `mountDir` inside a private mount namespace; prints what is left there after. */
function kilnOnFullDisk(mountDir: string, args: readonly string[]) {
  const script = `mount -t tmpfs -o size=64k kiln-full "$1" && shift && "$@"; status=$?; echo "left: [$(ls -A "${mountDir}" | tr '\\n' ' ')]"; exit $status`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', script, 'kiln-full', mountDir, KILN, ...args], {
    env: { ...process.env, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 50_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a full output filesystem: a clear "no space left" error naming the path, exit 1, nothing left there', { timeout: 60_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test mounts a tmpfs in a private mount namespace: run it as root');
  // ~256 KiB of incompressible data: more than the 64 KiB filesystem holds.
  const noise = Array.from({ length: 4096 }, (_, i) => `${i}:${Math.random().toString(36)}${Math.random().toString(36)}`).join('\n');
  const ctx = context(t, { Dockerfile: 'FROM scratch\nCOPY noise.txt /noise.txt\n', 'noise.txt': noise.repeat(3) });
  const mountDir = tempDir(t, 'kiln-full-');
  for (const output of [['--oci-layout-path', path.join(mountDir, 'layout')], ['--tar-path', path.join(mountDir, 'image.tar')]]) {
    const r = kilnOnFullDisk(mountDir, ['build', '--context', ctx, '--no-push', ...output]);
    assert.equal(r.status, 1, `${output[0]}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`error: writing ${output[0]} ${mountDir}/\\S+ failed: no space left on device while writing ${mountDir}/`), r.stderr);
    assert.doesNotMatch(r.stderr, /internal error/);
    assert.match(r.stdout, /left: \[\]/, `${output[0]} leaves nothing behind: ${r.stdout}`);
  }
});
