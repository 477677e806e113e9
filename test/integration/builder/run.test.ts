/**
 * RUN end to end from the CLI on the real busybox base image (test/env): exit codes, users, whiteouts, hard
 * links, every --mount type, --network=none, chroot isolation without CAP_SYS_ADMIN, SIGTERM cleanup and
 * two concurrent builds. Images are checked with umoci and tar.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import zlib from 'node:zlib';
import { baseImageLayout } from '../../env/base-images.ts';
import { KILN, context, kiln, tempDir } from './kiln-process.ts';

async function busybox(): Promise<string[]> {
  return ['--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`];
}

function unpack(t: { after(fn: () => void): void }, layout: string): string {
  const bundle = path.join(tempDir(t, 'kiln-bundle-'), 'b');
  execFileSync('umoci', ['unpack', '--image', layout, bundle], { stdio: 'pipe' });
  return path.join(bundle, 'rootfs');
}

function lastLayerEntries(layout: string): string[] {
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
  const blob = (d: string) => path.join(layout, 'blobs', 'sha256', d.split(':')[1]);
  const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0].digest), 'utf8'));
  const layer = manifest.layers[manifest.layers.length - 1];
  const tarFile = path.join(path.dirname(layout), 'last.tar');
  fs.writeFileSync(tarFile, zlib.gunzipSync(fs.readFileSync(blob(layer.digest))));
  return execFileSync('tar', ['-tvf', tarFile], { encoding: 'utf8' }).trim().split('\n');
}

function leftovers(): string[] {
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => /kiln-build-/.test(l));
  return mounts;
}

test('RUN changes land in layers: users, whiteouts, hard links, heredoc scripts', async (t) => {
  const out = tempDir(t, 'kiln-out-');
  const ctx = context(t, {
    Dockerfile: [
      'FROM busybox',
      "RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group \\",
      '    && mkdir -p /home/app && chown app:app /home/app',
      'USER app',
      'RUN touch /home/app/f && id > /home/app/id',
      'USER root',
      'RUN <<EOF',
      '#!/bin/sh',
      'echo h > /a',
      'ln /a /b',
      'EOF',
      'RUN rm /bin/ls',
      '',
    ].join('\n'),
  });
  const layout = path.join(out, 'oci');
  const r = await kiln(['build', '-c', ctx, '--no-push', '--oci-layout-path', layout, ...(await busybox())]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(lastLayerEntries(layout).some((l) => l.endsWith('bin/.wh.ls')), 'rm became a whiteout');
  const rootfs = unpack(t, layout);
  assert.equal(fs.readFileSync(path.join(rootfs, 'home/app/id'), 'utf8').trim(), 'uid=1000(app) gid=1000(app) groups=1000(app)');
  assert.equal(fs.statSync(path.join(rootfs, 'home/app/f')).uid, 1000);
  assert.equal(fs.statSync(path.join(rootfs, 'a')).ino, fs.statSync(path.join(rootfs, 'b')).ino, 'hard link kept');
  assert.equal(fs.existsSync(path.join(rootfs, 'bin/ls')), false);
  assert.equal(fs.existsSync(path.join(rootfs, 'dev/pipes')), false, 'the heredoc script mount leaves nothing');
  const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${layout}`], { encoding: 'utf8' }));
  assert.equal(config.history.at(-1).created_by, 'RUN /bin/sh -c rm /bin/ls # buildkit');
});

test("a failing RUN exits with the step's exit code and names the line; nothing is written", async (t) => {
  const out = tempDir(t, 'kiln-out-');
  const ctx = context(t, { Dockerfile: 'FROM busybox\nRUN echo before\nRUN exit 7\n' });
  const r = await kiln(['build', '-c', ctx, '--no-push', '--oci-layout-path', path.join(out, 'oci'), ...(await busybox())]);
  assert.equal(r.status, 7);
  assert.match(r.stderr, /Dockerfile:3/);
  assert.match(r.stderr, /did not complete successfully: exit code: 7/);
  assert.deepEqual(fs.readdirSync(out), []);
});

test('RUN --mount: secret, cache across builds, bind from a stage, tmpfs; none of it in the image', async (t) => {
  const out = tempDir(t, 'kiln-out-');
  const cacheHome = tempDir(t, 'kiln-cache-');
  const secret = path.join(out, 'token');
  fs.writeFileSync(secret, 's3cr3t');
  const ctx = context(t, {
    Dockerfile: [
      'FROM busybox AS files',
      'RUN mkdir /data && echo from-stage > /data/x',
      'FROM busybox',
      'RUN --mount=type=secret,id=tok cat /run/secrets/tok | wc -c > /secret-size',
      'RUN --mount=type=cache,target=/cache sh -c "echo x >> /cache/log; wc -l < /cache/log > /count"',
      'RUN --mount=type=bind,from=files,source=/data,target=/mnt cp /mnt/x /x',
      'RUN --mount=type=tmpfs,target=/scratch sh -c "echo a > /scratch/a && ls /scratch > /listing"',
      '',
    ].join('\n'),
  });
  const env = { KILN_CACHE_HOME: cacheHome };
  for (const run of [1, 2]) {
    const layout = path.join(out, `oci-${run}`);
    const r = await kiln(['build', '-c', ctx, '--no-push', '--oci-layout-path', layout, '--secret', `id=tok,src=${secret}`, ...(await busybox())], env);
    assert.equal(r.status, 0, r.stderr);
    const rootfs = unpack(t, layout);
    assert.equal(fs.readFileSync(path.join(rootfs, 'secret-size'), 'utf8').trim(), '6');
    assert.equal(fs.readFileSync(path.join(rootfs, 'count'), 'utf8').trim(), String(run), 'the cache persists across builds');
    assert.equal(fs.readFileSync(path.join(rootfs, 'x'), 'utf8'), 'from-stage\n');
    assert.equal(fs.readFileSync(path.join(rootfs, 'listing'), 'utf8'), 'a\n');
    assert.equal(fs.existsSync(path.join(rootfs, 'run/secrets/tok')), false);
    assert.deepEqual(fs.existsSync(path.join(rootfs, 'cache')) ? fs.readdirSync(path.join(rootfs, 'cache')) : [], []);
    assert.deepEqual(fs.existsSync(path.join(rootfs, 'scratch')) ? fs.readdirSync(path.join(rootfs, 'scratch')) : [], []);
    const layers = execFileSync('skopeo', ['inspect', `oci:${layout}`], { encoding: 'utf8' });
    assert.doesNotMatch(layers, /s3cr3t/);
  }
});

test('RUN --network=none sees only loopback', async (t) => {
  const out = tempDir(t, 'kiln-out-');
  const ctx = context(t, { Dockerfile: 'FROM busybox\nRUN --network=none ls /sys/class/net > /nets\nRUN ls /sys/class/net > /host-nets\n' });
  const layout = path.join(out, 'oci');
  const r = await kiln(['build', '-c', ctx, '--no-push', '--oci-layout-path', layout, ...(await busybox())]);
  assert.equal(r.status, 0, r.stderr);
  const rootfs = unpack(t, layout);
  assert.equal(fs.readFileSync(path.join(rootfs, 'nets'), 'utf8'), 'lo\n');
  assert.notEqual(fs.readFileSync(path.join(rootfs, 'host-nets'), 'utf8'), 'lo\n');
});

test('without CAP_SYS_ADMIN nor user namespaces, auto isolation falls back to chroot and the walk snapshot gives the same files', async (t) => {
  const out = tempDir(t, 'kiln-out-');
  const ctx = context(t, { Dockerfile: 'FROM busybox\nRUN echo hi > /hi && rm /etc/group && mkdir -p /d/e\n' });
  const layout = path.join(out, 'oci');
  const args = ['build', '-c', ctx, '--no-push', '--oci-layout-path', layout, ...(await busybox())];
  const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const noUserns = path.resolve(import.meta.dirname, '..', 'sandbox', 'fixtures', 'no-userns.pl');
    const child = spawn('perl', [noUserns, 'capsh', '--drop=cap_sys_admin', '--', '-c', `exec "$0" "$@"`, KILN, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('close', (status) => resolve({ status, stderr }));
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /RUN isolation: chroot/);
  assert.ok(lastLayerEntries(layout).some((l) => l.endsWith('etc/.wh.group')));
  const rootfs = unpack(t, layout);
  assert.equal(fs.readFileSync(path.join(rootfs, 'hi'), 'utf8'), 'hi\n');
  assert.ok(fs.statSync(path.join(rootfs, 'd/e')).isDirectory());
});

test('SIGTERM during a RUN stops the step and leaves no processes, mounts or work dirs', async (t) => {
  const work = tempDir(t, 'kiln-work-');
  const marker = `kiln-sigterm-${process.pid}`;
  const ctx = context(t, { Dockerfile: `FROM busybox\nRUN sleep 300 && echo ${marker}\n` });
  const child = spawn(KILN, ['build', '-c', ctx, '--no-push', '--oci-layout-path', path.join(work, 'oci'), ...(await busybox())], {
    env: { ...process.env, NO_COLOR: '1', KILN_WORK_DIR: work }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  for (let i = 0; i < 200 && !/STEP 2\/2/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  child.kill('SIGTERM');
  const status = await closed;
  assert.equal(status, 143, stderr);
  assert.match(stderr, /SIGTERM/);
  assert.deepEqual(fs.readdirSync(work), [], 'work dir removed, no output');
  assert.deepEqual(leftovers(), []);
  const sleepers = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(marker));
  assert.deepEqual(sleepers, []);
});

test('two builds at once in separate processes do not interfere', async (t) => {
  const out = tempDir(t, 'kiln-out-');
  const contexts = [1, 2].map((n) => context(t, { Dockerfile: `FROM busybox\nRUN for i in 1 2 3; do echo ${n} >> /who; sleep 0.2; done\n` }));
  const base = await busybox();
  const runs = await Promise.all(contexts.map((ctx, i) =>
    kiln(['build', '-c', ctx, '--no-push', '--oci-layout-path', path.join(out, `oci-${i + 1}`), ...base])));
  for (const [i, r] of runs.entries()) {
    assert.equal(r.status, 0, r.stderr);
    const rootfs = unpack(t, path.join(out, `oci-${i + 1}`));
    assert.equal(fs.readFileSync(path.join(rootfs, 'who'), 'utf8'), `${i + 1}\n`.repeat(3));
  }
});
