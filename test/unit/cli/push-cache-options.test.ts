import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { destinationReferences } from '../../../src/builder/push.ts';
import { parseBuildArgv } from '../../../src/cli/build-options.ts';
import { dockerfileImages } from '../../../src/cache/warmer.ts';
import { isKilnError } from '../../../src/errors.ts';

function workspace(t: { after: (fn: () => void) => void }): { ctx: string; cwd: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-opts-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const ctx = path.join(root, 'ctx');
  fs.mkdirSync(ctx);
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\n');
  fs.mkdirSync(path.join(root, 'layout:odd'));
  return { ctx, cwd: root };
}

function usage(fn: () => unknown, text: RegExp): void {
  assert.throws(fn, (err: unknown) => isKilnError(err) && err.exitCode === 2 && text.test(err.message));
}

test('--base-image-source: oci:DIR, oci:DIR:REF, docker-archive:FILE, relative to the working directory', (t) => {
  const { ctx, cwd } = workspace(t);
  const o = parseBuildArgv(['-c', ctx, '--no-push',
    '--base-image-source', 'busybox=oci:layouts/bb',
    '--base-image-source', 'busybox:1.36=oci:layouts/bb:1.36',
    '--base-image-source', 'reg.example/app:1=docker-archive:/tmp/app.tar',
    '--base-image-source', 'odd=oci:layout:odd'], {}, cwd);
  assert.deepEqual(o.baseImageSources, [
    { name: 'busybox', kind: 'oci', path: path.join(cwd, 'layouts/bb') },
    { name: 'busybox:1.36', kind: 'oci', path: path.join(cwd, 'layouts/bb'), refName: '1.36' },
    { name: 'reg.example/app:1', kind: 'docker-archive', path: '/tmp/app.tar' },
    { name: 'odd', kind: 'oci', path: path.join(cwd, 'layout:odd') },
  ]);
  usage(() => parseBuildArgv(['-c', ctx, '--no-push', '--base-image-source', 'busybox'], {}, cwd), /expected NAME=SOURCE/);
  usage(() => parseBuildArgv(['-c', ctx, '--no-push', '--base-image-source', 'busybox=dir:/x'], {}, cwd), /must start with oci: or docker-archive:/);
  usage(() => parseBuildArgv(['-c', ctx, '--no-push', '--base-image-source', 'Bad Name=oci:/x'], {}, cwd), /invalid image reference/);
  usage(() => parseBuildArgv(['-c', ctx, '--no-push', '--base-image-source', 'busybox=oci:'], {}, cwd), /the path is empty/);
});

test('--cache with --cache-dir works with --no-push (base-image cache); without --cache-dir kaniko\'s rule stands', (t) => {
  const { ctx, cwd } = workspace(t);
  const o = parseBuildArgv(['-c', ctx, '--no-push', '--cache=true', '--cache-dir', 'cache', '--cache-ttl', '6h'], {}, cwd);
  assert.equal(o.cache.enabled, true);
  assert.equal(o.cache.dir, path.join(cwd, 'cache'));
  assert.equal(o.cache.ttlMs, 6 * 3_600_000);
  usage(() => parseBuildArgv(['-c', ctx, '--no-push', '--cache=true'], {}, cwd), /specify cache repo with --cache-repo/);
  const layers = parseBuildArgv(['-c', ctx, '--no-push', '--cache=true', '--cache-repo=oci:c', '--no-push-cache', '--cache-copy-layers'], {}, cwd);
  assert.deepEqual([layers.cache.repo, layers.cache.pushLayers, layers.cache.copyLayers, layers.cache.runLayers], ['oci:c', false, true, true]);
});

test('destinations are parsed as references; a bad one names --destination', () => {
  assert.deepEqual(destinationReferences(['reg.example:5000/team/app:1', 'busybox']).map((r) => `${r.registry} ${r.repository} ${r.tag}`),
    ['reg.example:5000 team/app 1', 'docker.io library/busybox latest']);
  assert.throws(() => destinationReferences(['Reg/App']), (err: unknown) => isKilnError(err) && /--destination/.test(err.message) && err.exitCode === 2);
});

test('the warmer finds each stage base image once, with meta ARGs and --platform, skipping stages and scratch', () => {
  const text = [
    'ARG TAG=1.36',
    'FROM busybox:${TAG} AS a',
    'FROM --platform=linux/arm64 alpine AS b',
    'FROM a',
    'COPY --from=reg.example/tools:2 /x /x',
    'COPY --from=b /y /y',
    'FROM scratch',
    'COPY --from=docker.io/library/busybox:1.36 /z /z',
    '',
  ].join('\n');
  const amd64 = { os: 'linux', architecture: 'amd64' };
  const found = dockerfileImages(text, 'Dockerfile', new Map([['TAG', '1.37']]), amd64);
  assert.deepEqual(found.map((f) => `${f.name} ${f.platform.os}/${f.platform.architecture}`), [
    'busybox:1.37 linux/amd64', 'alpine linux/arm64', 'reg.example/tools:2 linux/amd64', 'docker.io/library/busybox:1.36 linux/amd64',
  ]);
});
