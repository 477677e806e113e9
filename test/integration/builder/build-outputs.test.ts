/**
 * `kiln build` end to end from the CLI: a FROM-scratch multi-stage Dockerfile into an OCI layout and a docker
 * archive, checked with skopeo, umoci and tar; digest files; --reproducible; errors that leave nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

const kiln = path.resolve(import.meta.dirname, '..', '..', '..', 'bin', 'kiln');

function tempDir(t: { after(fn: () => void): void }, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeContext(dir: string): void {
  fs.writeFileSync(path.join(dir, 'Dockerfile'), [
    'ARG BASE=scratch',
    'FROM ${BASE} AS files',
    'COPY <<EOF /etc/motd',
    'hello $NAME',
    'EOF',
    'COPY --chmod=0750 bin/ /usr/local/bin/',
    'FROM scratch',
    'ARG NAME=kiln',
    'COPY --from=files --chown=1000:1000 /usr/local/bin /app/bin',
    'COPY --from=files /etc/motd /etc/',
    'COPY data /data/',
    'ENV APP_NAME=${NAME}',
    'WORKDIR /app',
    'LABEL version="1.0"',
    'EXPOSE 8080/tcp 53/udp',
    'USER 1000:1000',
    'ENTRYPOINT ["/app/bin/run"]',
    'CMD ["--serve"]',
    '',
  ].join('\n'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(path.join(dir, 'bin', 'run'), '#!/bin/sh\necho run\n', { mode: 0o755 });
  fs.mkdirSync(path.join(dir, 'data', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'data', 'sub', 'a.txt'), 'a\n');
  fs.symlinkSync('sub/a.txt', path.join(dir, 'data', 'link'));
  fs.writeFileSync(path.join(dir, 'data', 'secret.key'), 'ignored\n');
  fs.writeFileSync(path.join(dir, '.dockerignore'), 'data/*.key\n');
}

function build(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
  const r = spawnSync(kiln, ['build', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stderr: r.stderr };
}

test('builds a multi-stage FROM scratch image into an OCI layout that skopeo and umoci read', (t) => {
  const ctx = tempDir(t, 'kiln-ctx-');
  const out = tempDir(t, 'kiln-out-');
  writeContext(ctx);
  const layout = path.join(out, 'oci');
  const digestFile = path.join(out, 'digest');
  const r = build(['--context', ctx, '--no-push', '--oci-layout-path', layout, '--digest-file', digestFile, '--label', 'team=build']);
  assert.equal(r.status, 0, r.stderr);

  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${layout}`], { encoding: 'utf8' }));
  assert.equal(inspect.Digest, fs.readFileSync(digestFile, 'utf8'));
  assert.deepEqual(inspect.Labels, { version: '1.0', team: 'build' });
  const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${layout}`], { encoding: 'utf8' }));
  assert.deepEqual(config.config.Entrypoint, ['/app/bin/run']);
  assert.deepEqual(config.config.Cmd, ['--serve']);
  assert.equal(config.config.WorkingDir, '/app');
  assert.equal(config.config.User, '1000:1000');
  assert.deepEqual(Object.keys(config.config.ExposedPorts).sort(), ['53/udp', '8080/tcp']);
  assert.ok(config.config.Env.includes('APP_NAME=kiln'));
  assert.equal(config.rootfs.diff_ids.length, 4, 'three COPY layers and one WORKDIR layer');
  assert.ok(config.history.some((h: { created_by: string }) => h.created_by === 'COPY data /data/ # buildkit'));

  const bundle = path.join(out, 'bundle');
  execFileSync('umoci', ['unpack', '--image', layout, bundle], { stdio: 'pipe' });
  const rootfs = path.join(bundle, 'rootfs');
  const run = fs.lstatSync(path.join(rootfs, 'app', 'bin', 'run'));
  assert.equal(run.mode & 0o7777, 0o750);
  assert.equal(run.uid, 1000);
  assert.equal(fs.readFileSync(path.join(rootfs, 'etc', 'motd'), 'utf8'), 'hello \n', 'the heredoc expands; stage "files" has no NAME');
  assert.equal(fs.readlinkSync(path.join(rootfs, 'data', 'link')), 'sub/a.txt');
  assert.equal(fs.readFileSync(path.join(rootfs, 'data', 'sub', 'a.txt'), 'utf8'), 'a\n');
  assert.equal(fs.existsSync(path.join(rootfs, 'data', 'secret.key')), false, '.dockerignore applies');
  assert.equal(fs.statSync(path.join(rootfs, 'app')).isDirectory(), true);
});

test('--tar-path writes a docker archive that skopeo reads, with layer blobs tar can list', (t) => {
  const ctx = tempDir(t, 'kiln-ctx-');
  const out = tempDir(t, 'kiln-out-');
  writeContext(ctx);
  const tarball = path.join(out, 'image.tar');
  const r = build(['--context', ctx, '--no-push', '--destination', 'example.com/team/app:1.0', '--tar-path', tarball,
    '--image-name-tag-with-digest-file', path.join(out, 'names')]);
  assert.equal(r.status, 0, r.stderr);
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${tarball}`], { encoding: 'utf8' }));
  assert.equal(inspect.Layers.length, 4);
  const listing = execFileSync('tar', ['-tf', tarball], { encoding: 'utf8' }).split('\n');
  assert.ok(listing.includes('manifest.json'));
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', tarball, 'manifest.json'], { encoding: 'utf8' }));
  assert.deepEqual(manifest[0].RepoTags, ['example.com/team/app:1.0']);
  const names = fs.readFileSync(path.join(out, 'names'), 'utf8').trim();
  assert.match(names, /^example\.com\/team\/app:1\.0@sha256:[0-9a-f]{64}$/);
});

test('--reproducible: two builds at different times give the same digest', async (t) => {
  const ctx = tempDir(t, 'kiln-ctx-');
  const out = tempDir(t, 'kiln-out-');
  writeContext(ctx);
  const digests: string[] = [];
  for (const i of [1, 2]) {
    const file = path.join(out, `digest-${i}`);
    const r = build(['--context', ctx, '--no-push', '--reproducible', '--oci-layout-path', path.join(out, `oci-${i}`), '--digest-file', file]);
    assert.equal(r.status, 0, r.stderr);
    digests.push(fs.readFileSync(file, 'utf8'));
    // Touch the context so file mtimes differ between the builds.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const now = new Date();
    fs.utimesSync(path.join(ctx, 'data', 'sub', 'a.txt'), now, now);
  }
  assert.equal(digests[0], digests[1]);
  const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${path.join(out, 'oci-1')}`], { encoding: 'utf8' }));
  assert.equal(config.created, '1970-01-01T00:00:00Z');
});

test('a missing COPY source fails naming Dockerfile:LINE and writes no output', (t) => {
  const ctx = tempDir(t, 'kiln-ctx-');
  const out = tempDir(t, 'kiln-out-');
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY present /\nCOPY missing /\n');
  fs.writeFileSync(path.join(ctx, 'present'), 'x');
  const layout = path.join(out, 'oci');
  const r = build(['--context', ctx, '--no-push', '--oci-layout-path', layout, '--digest-file', path.join(out, 'digest')]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Dockerfile:3/);
  assert.match(r.stderr, /missing/);
  assert.deepEqual(fs.readdirSync(out), [], 'no layout, no digest file');
});

test('a RUN in an image without a shell fails naming the line and the missing program', (t) => {
  const ctx = tempDir(t, 'kiln-ctx-');
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nRUN true\n');
  const r = build(['--context', ctx, '--no-push', '--oci-layout-path', path.join(ctx, 'out')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Dockerfile:2/);
  assert.match(r.stderr, /exec \/bin\/sh: No such file or directory/);
  assert.equal(fs.existsSync(path.join(ctx, 'out')), false);
});

test('BENCHMARK_FILE gets the step timings per instruction kind (milliseconds), as kaniko writes them', (t) => {
  const ctx = tempDir(t, 'kiln-ctx-');
  const out = tempDir(t, 'kiln-out-');
  writeContext(ctx);
  const file = path.join(out, 'timings.json');
  const r = build(['--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'oci')], { BENCHMARK_FILE: file });
  assert.equal(r.status, 0, r.stderr);
  const timings = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const key of ['COPY', 'WORKDIR', 'ENV', 'Total Build Time']) assert.equal(typeof timings[key], 'number', key);
  assert.ok(timings['Total Build Time'] >= timings.COPY);
});
