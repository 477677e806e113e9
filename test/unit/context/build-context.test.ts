import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { openBuildContext } from '../../../src/context/build-context.ts';
import type { BuildContext } from '../../../src/context/build-context.ts';
import type { DockerfileSource } from '../../../src/builder/options.ts';
import { isKilnError } from '../../../src/errors.ts';

const DEFAULT_DOCKERFILE: DockerfileSource = { kind: 'file', path: 'Dockerfile', relativeToContext: true, given: 'Dockerfile' };

function tempDir(t: { after: (fn: () => void) => void }, prefix = 'kiln-ctx-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
}

function walked(ctx: BuildContext, start?: string): string[] {
  return [...ctx.walk(start)].map((e) => (e.stat.isDirectory() ? `${e.rel}/` : e.rel));
}

test('directory context: walk honours .dockerignore with ! exceptions, sorted, parents first', async (t) => {
  const root = tempDir(t);
  write(root, {
    Dockerfile: 'FROM scratch\nCOPY . /\n',
    '.dockerignore': '# keep the build lean\nDockerfile\n.dockerignore\n**/*.log\nlogs\n!logs/keep.log\nnode_modules\n',
    'a.txt': 'a', 'b/c.txt': 'c', 'b/debug.log': 'x', 'logs/x.log': 'x', 'logs/keep.log': 'k', 'logs/other.txt': 'o',
    'node_modules/m/index.js': 'm', 'z/y/x.txt': 'x',
  });
  fs.symlinkSync('a.txt', path.join(root, 'link'));
  const ctx = await openBuildContext({ kind: 'dir', path: root }, DEFAULT_DOCKERFILE);
  t.after(() => ctx.cleanup());
  assert.equal(ctx.root, root);
  assert.deepEqual(walked(ctx), ['a.txt', 'b/', 'b/c.txt', 'link', 'logs/', 'logs/keep.log', 'z/', 'z/y/', 'z/y/x.txt']);
  assert.ok([...ctx.walk()].find((e) => e.rel === 'link')?.stat.isSymbolicLink(), 'symlinks are not followed');
  assert.deepEqual(walked(ctx, 'z'), ['z/y/', 'z/y/x.txt']);
  // The Dockerfile and .dockerignore are excluded from COPY but still readable by the front end.
  assert.equal(ctx.isIncluded('Dockerfile'), false);
  assert.equal(ctx.isIncluded('./.dockerignore'), false);
  assert.deepEqual(ctx.readDockerfile(), { text: 'FROM scratch\nCOPY . /\n', path: path.join(root, 'Dockerfile'), displayName: 'Dockerfile' });
  assert.equal(ctx.ignore.file, path.join(root, '.dockerignore'));
  ctx.cleanup();
  assert.ok(fs.existsSync(root), 'a directory context is never removed');
});

test('per-Dockerfile ignore file wins, display name is context-relative', async (t) => {
  const root = tempDir(t);
  write(root, {
    'docker/app.Dockerfile': 'FROM scratch\n',
    'docker/app.Dockerfile.dockerignore': 'secret.txt\n',
    '.dockerignore': 'public.txt\n',
    'secret.txt': 's', 'public.txt': 'p',
  });
  const dockerfile: DockerfileSource = { kind: 'file', path: path.join(root, 'docker/app.Dockerfile'), relativeToContext: false, given: 'docker/app.Dockerfile' };
  const ctx = await openBuildContext({ kind: 'dir', path: root }, dockerfile);
  assert.equal(ctx.isIncluded('secret.txt'), false);
  assert.equal(ctx.isIncluded('public.txt'), true);
  assert.equal(ctx.readDockerfile().displayName, 'docker/app.Dockerfile');
});

test('tar context (gzip, made by tar(1)) with a sub path is extracted and cleaned up', async (t) => {
  const src = tempDir(t);
  write(src, { 'app/Dockerfile': 'FROM scratch\nCOPY run.sh /\n', 'app/run.sh': '#!/bin/sh\necho hi\n', 'app/.dockerignore': 'notes\n', 'app/notes': 'n', 'other/x': 'x' });
  fs.chmodSync(path.join(src, 'app/run.sh'), 0o755);
  fs.symlinkSync('run.sh', path.join(src, 'app/start'));
  const tarFile = path.join(tempDir(t), 'context.tar.gz');
  execFileSync('tar', ['-czf', tarFile, '-C', src, '.']);
  const tmp = tempDir(t, 'kiln-ctx-tmp-');
  const ctx = await openBuildContext({ kind: 'tar', path: tarFile, subPath: 'app' }, DEFAULT_DOCKERFILE, { tempDir: tmp });
  t.after(() => ctx.cleanup());
  assert.ok(ctx.root.startsWith(tmp));
  assert.equal(path.basename(ctx.root), 'app');
  assert.equal(ctx.readDockerfile().text, 'FROM scratch\nCOPY run.sh /\n');
  assert.deepEqual(walked(ctx), ['.dockerignore', 'Dockerfile', 'run.sh', 'start']);
  assert.equal(fs.statSync(path.join(ctx.root, 'run.sh')).mode & 0o777, 0o755);
  assert.equal(fs.readlinkSync(path.join(ctx.root, 'start')), 'run.sh');
  ctx.cleanup();
  assert.deepEqual(fs.readdirSync(tmp), [], 'the extracted context is removed');
});

test('tar context from stdin (plain and zstd), Dockerfile from stdin', async (t) => {
  const src = tempDir(t);
  write(src, { Dockerfile: 'FROM scratch\n', 'f.txt': 'f' });
  const plain = execFileSync('tar', ['-cf', '-', '-C', src, '.']);
  for (const bytes of [plain, zlib.zstdCompressSync(plain)]) {
    const ctx = await openBuildContext({ kind: 'stdin', subPath: '' }, DEFAULT_DOCKERFILE, { stdin: Readable.from([bytes]), tempDir: tempDir(t) });
    assert.deepEqual(walked(ctx), ['Dockerfile', 'f.txt']);
    ctx.cleanup();
  }
  const ctx = await openBuildContext({ kind: 'dir', path: src }, { kind: 'stdin' }, { stdin: Readable.from([Buffer.from('FROM busybox\n')]) });
  assert.deepEqual(ctx.readDockerfile(), { text: 'FROM busybox\n', path: undefined, displayName: 'Dockerfile' });
});

async function tarOf(entries: Array<{ header: Partial<tar.Header> & { name: string }; body?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry(e.header as tar.Header, e.body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('tar contexts cannot write outside the extraction directory', async (t) => {
  const outside = tempDir(t, 'kiln-outside-');
  const evil: Array<Array<{ header: Partial<tar.Header> & { name: string }; body?: string }>> = [
    [{ header: { name: '../escape.txt', type: 'file' }, body: 'x' }],
    [{ header: { name: 'a/../../escape.txt', type: 'file' }, body: 'x' }],
    [{ header: { name: 'out', type: 'symlink', linkname: outside }, body: '' }, { header: { name: 'out/escape.txt', type: 'file' }, body: 'x' }],
    [{ header: { name: 'h', type: 'link', linkname: '../../etc/passwd' } }],
  ];
  for (const entries of evil) {
    const tmp = tempDir(t);
    const bytes = await tarOf(entries);
    await assert.rejects(
      openBuildContext({ kind: 'stdin', subPath: '' }, DEFAULT_DOCKERFILE, { stdin: Readable.from([bytes]), tempDir: tmp }),
      (err: unknown) => isKilnError(err) && err.code === 'INVALID_CONTEXT_TAR',
    );
    assert.deepEqual(fs.readdirSync(outside), [], 'nothing written through the symlink');
    assert.deepEqual(fs.readdirSync(tmp), [], 'the partial extraction is removed');
  }
});

test('errors: missing Dockerfile, missing directory, remote contexts, both from stdin', async (t) => {
  const root = tempDir(t);
  const fail = async (p: Promise<unknown>, re: RegExp) =>
    assert.rejects(p, (err: unknown) => isKilnError(err) && re.test(err.message));
  await fail(openBuildContext({ kind: 'dir', path: root }, DEFAULT_DOCKERFILE), /--dockerfile Dockerfile: no Dockerfile/);
  await fail(openBuildContext({ kind: 'dir', path: path.join(root, 'nope') }, DEFAULT_DOCKERFILE), /not a directory/);
  await fail(openBuildContext({ kind: 'git', url: 'git://h/r.git#a#b#c', subPath: '' }, DEFAULT_DOCKERFILE, { tempDir: root }), /invalid git location.*at most two "#"/);
  assert.deepEqual(fs.readdirSync(root), [], 'a failed remote context leaves nothing behind');
  await fail(openBuildContext({ kind: 'stdin', subPath: '' }, { kind: 'stdin' }), /standard input/);
  await fail(openBuildContext({ kind: 'tar', path: path.join(root, 'missing.tar'), subPath: '' }, DEFAULT_DOCKERFILE, { tempDir: root }), /no such file/);
});

test('a Dockerfile or .dockerignore that is a symlink is resolved inside the context, like a COPY source', async (t) => {
  const outside = tempDir(t, 'kiln-outside-');
  write(outside, { secret: 'FROM top-secret-first-line\n', ignore: 'a.txt\n' });
  const root = tempDir(t);
  write(root, { 'a.txt': 'a', 'docker/real.Dockerfile': 'FROM scratch\n' });
  for (const target of [path.join(outside, 'secret'), path.relative(root, path.join(outside, 'secret'))]) {
    fs.rmSync(path.join(root, 'Dockerfile'), { force: true });
    fs.symlinkSync(target, path.join(root, 'Dockerfile'));
    await assert.rejects(openBuildContext({ kind: 'dir', path: root }, DEFAULT_DOCKERFILE), (err: unknown) => {
      assert.ok(isKilnError(err) && err.code === 'DOCKERFILE_NOT_FOUND', String(err));
      assert.doesNotMatch(`${err.message} ${err.hint ?? ''}`, /top-secret/);
      return true;
    }, target);
  }
  // An absolute target names a path in the context, as it would inside the image.
  fs.rmSync(path.join(root, 'Dockerfile'));
  fs.symlinkSync('/docker/real.Dockerfile', path.join(root, 'Dockerfile'));
  fs.symlinkSync(path.join(outside, 'ignore'), path.join(root, '.dockerignore'));
  const ctx = await openBuildContext({ kind: 'dir', path: root }, DEFAULT_DOCKERFILE);
  t.after(() => ctx.cleanup());
  assert.equal(ctx.readDockerfile().text, 'FROM scratch\n');
  assert.deepEqual(ctx.ignore.patterns, [], 'the .dockerignore outside the context is not read');
  assert.equal(ctx.isIncluded('a.txt'), true);
  // A Dockerfile named by a flag outside the context is the user's choice and is read.
  const explicit = await openBuildContext({ kind: 'dir', path: root }, { kind: 'file', path: path.join(outside, 'secret'), relativeToContext: false, given: 'x' });
  assert.match(explicit.readDockerfile().text, /top-secret/);
});
