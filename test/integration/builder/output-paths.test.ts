/**
 * Outputs that are not regular files: a FIFO, a symlink to a pipe (what `/dev/stdout` is), a file bind-mounted
 * over another (Kubernetes' `/dev/termination-log`), all made in a temp dir or a private mount namespace, never
 * in the machine's own /dev. And a write that fails after a successful push says so, with exit code 3.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { inspectImage } from '../../env/base-images.ts';
import { context, KILN, kiln, tempDir, type KilnRun } from './kiln-process.ts';

let registry: TestRegistry;
before(async () => {
  registry = await startRegistry({ mode: 'plain' });
});
after(async () => {
  await registry?.stop();
});

const DOCKERFILE = 'FROM scratch\nCOPY a.txt /a.txt\n';

function spawnCollect(command: string, args: string[]): Promise<KilnRun & { raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, raw: Buffer.concat(out), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

test('--digest-file and --tar-path to a symlink to a pipe (like /dev/stdout) write through and keep the link', async (t) => {
  const ctx = context(t, { Dockerfile: DOCKERFILE, 'a.txt': 'a\n' });
  const out = tempDir(t, 'kiln-out-');
  const stdout = path.join(out, 'stdout');
  fs.symlinkSync('/proc/self/fd/1', stdout);
  const r = await kiln(['build', '--context', ctx, '--no-push', '--digest-file', stdout]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^sha256:[0-9a-f]{64}$/);
  assert.ok(fs.lstatSync(stdout).isSymbolicLink(), 'the symlink is still a symlink');

  const tar = await spawnCollect(KILN, ['build', '--context', ctx, '--no-push', '--tar-path', stdout]);
  assert.equal(tar.status, 0, tar.stderr);
  const archive = path.join(out, 'from-stdout.tar');
  fs.writeFileSync(archive, tar.raw);
  assert.ok(fs.lstatSync(stdout).isSymbolicLink());
  const names = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).split('\n');
  assert.ok(names.includes('manifest.json'), names.join(' '));
});

test('--digest-file to a FIFO writes into the FIFO, which stays a FIFO', async (t) => {
  const ctx = context(t, { Dockerfile: DOCKERFILE, 'a.txt': 'a\n' });
  const out = tempDir(t, 'kiln-out-');
  const fifo = path.join(out, 'digest.fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
  const read: Buffer[] = [];
  reader.stdout.on('data', (c: Buffer) => read.push(c));
  const readerDone = new Promise((resolve) => reader.on('close', resolve));
  t.after(() => reader.kill());
  const r = await kiln(['build', '--context', ctx, '--no-push', '--digest-file', fifo]);
  assert.equal(r.status, 0, r.stderr);
  // A writer that replaced the FIFO never opened it: cat would wait forever, so it gets a moment, then stops.
  const stop = setTimeout(() => reader.kill(), 5000);
  await readerDone;
  clearTimeout(stop);
  assert.match(Buffer.concat(read).toString(), /^sha256:[0-9a-f]{64}$/);
  assert.ok(fs.lstatSync(fifo).isFIFO());
});

test('--digest-file to a bind-mounted file (Kubernetes /dev/termination-log) writes into the mounted file', async (t) => {
  const ctx = context(t, { Dockerfile: DOCKERFILE, 'a.txt': 'a\n' });
  const out = tempDir(t, 'kiln-out-');
  const mounted = path.join(out, 'termination-log-source');
  const target = path.join(out, 'termination-log');
  fs.writeFileSync(mounted, '');
  fs.writeFileSync(target, '');
  // A private mount namespace: the bind mount disappears with the process, the host's mounts are untouched.
  const r = await spawnCollect('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
    'mount --bind "$1" "$2" && exec "$3" build --context "$4" --no-push --digest-file "$2"', 'sh', mounted, target, KILN, ctx]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error/);
  assert.match(fs.readFileSync(mounted, 'utf8'), /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(fs.readdirSync(out).sort(), ['termination-log', 'termination-log-source'], 'no temp file is left behind');
});

test('a digest file that cannot be written after a successful push: exit 3, saying the push succeeded', async (t) => {
  const ctx = context(t, { Dockerfile: DOCKERFILE, 'a.txt': 'a\n' });
  const out = tempDir(t, 'kiln-out-');
  const destination = `${registry.host}/app/after-push:1`;
  const r = await kiln(['build', '--context', ctx, '--destination', destination, '--insecure', '--digest-file', path.join(out, 'missing-dir', 'digest')]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`error: the image sha256:[0-9a-f]{64} was pushed to ${destination.replace(/\./g, '\\.')}, but writing --digest-file .*missing-dir/digest failed: ENOENT`));
  assert.doesNotMatch(r.stderr, /internal error/);
  const pushed = await inspectImage(registry, 'app/after-push:1');
  assert.match(r.stderr, new RegExp(String(pushed.Digest)));
});
