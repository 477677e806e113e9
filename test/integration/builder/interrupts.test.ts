/**
 * SIGTERM/SIGINT while Kiln waits on a registry: a base-image blob that stalls mid-download, and a push whose
 * uploads stall. Kiln must stop within seconds (the registry timeouts are far away), exit 143/130, leave no
 * work dir or output behind, and push no tag.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { firstN, startFaultProxy } from '../../env/fault-proxy.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { busyboxRegistry } from '../registry/helpers.ts';
import { pidsWithCmdline } from '../sandbox/helpers.ts';
import { context, startKiln, tempDir } from './kiln-process.ts';

let registry: TestRegistry;
let layerDigest: string;
before(async () => {
  ({ registry, layerDigest } = await busyboxRegistry());
});
after(async () => {
  await registry?.stop();
});

const farTimeouts = ['--registry-response-timeout=10m', '--registry-idle-timeout=10m', '--image-download-retry=3', '--push-retry=3'];

test('SIGTERM during a stalled base-layer download: exit 143 at once, no work dir, no output', { timeout: 30_000 }, async (t) => {
  const proxy = await startFaultProxy(registry.host, firstN(1, (r) => r.path.endsWith(`/blobs/${layerDigest}`), { kind: 'stall-body', afterBytes: 1000 }));
  t.after(() => proxy.stop());
  const ctx = context(t, { Dockerfile: `FROM ${proxy.host}/library/busybox:latest\nCOPY a.txt /a.txt\n`, 'a.txt': 'a\n' });
  const work = tempDir(t, 'kiln-work-');
  const out = tempDir(t, 'kiln-out-');
  const kiln = startKiln(['build', '--context', ctx, '--no-push', '--tar-path', path.join(out, 'image.tar'), ...farTimeouts], { KILN_WORK_DIR: work });
  t.after(() => kiln.child.kill('SIGKILL'));
  await proxy.waitFor((r) => r.fault === 'stall-body');
  kiln.child.kill('SIGTERM');
  const r = await kiln.done;
  assert.equal(r.status, 143, r.stderr);
  assert.match(r.stderr, /SIGTERM/);
  assert.doesNotMatch(r.stderr, /internal error/);
  assert.deepEqual(fs.readdirSync(work), [], 'the work dir is gone');
  assert.deepEqual(fs.readdirSync(out), [], 'no archive, no temp file');
});

test('SIGINT during a push whose uploads stall: exit 130, no tag in the registry', { timeout: 30_000 }, async (t) => {
  const uploads = (r: { method: string; path: string }) => (r.method === 'PUT' || r.method === 'PATCH') && r.path.includes('/blobs/uploads/');
  const proxy = await startFaultProxy(registry.host, firstN(100, uploads, { kind: 'stall' }));
  t.after(() => proxy.stop());
  const ctx = context(t, { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'pushed?\n' });
  const work = tempDir(t, 'kiln-work-');
  const kiln = startKiln(['build', '--context', ctx, '--destination', `${proxy.host}/interrupted/app:1`, ...farTimeouts], { KILN_WORK_DIR: work });
  t.after(() => kiln.child.kill('SIGKILL'));
  await proxy.waitFor((r) => r.fault === 'stall');
  kiln.child.kill('SIGINT');
  const r = await kiln.done;
  assert.equal(r.status, 130, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error/);
  assert.equal(proxy.requests.filter((q) => q.method === 'PUT' && q.path.includes('/manifests/')).length, 0, JSON.stringify(proxy.requests));
  const tags = await fetch(`${registry.url}/v2/interrupted/app/tags/list`);
  assert.equal(tags.status, 404, 'the repository has no tag');
  assert.deepEqual(fs.readdirSync(work), []);
});


test('stderr closed by its reader (kiln build … 2>&1 | head): exit 141, no work dir, no output', { timeout: 30_000 }, async (t) => {
  const ctx = context(t, { Dockerfile: `FROM ${registry.host}/library/busybox:latest\nRUN echo one > /one\nRUN echo two > /two\n` });
  const work = tempDir(t, 'kiln-work-');
  const out = tempDir(t, 'kiln-out-');
  const kiln = startKiln(['build', '--context', ctx, '--no-push', '--insecure-registry', registry.host, '--oci-layout-path', path.join(out, 'layout')], { KILN_WORK_DIR: work });
  t.after(() => kiln.child.kill('SIGKILL'));
  // The reader goes away after the first line, as `head -1` does.
  kiln.child.stderr!.once('data', () => kiln.child.stderr!.destroy());
  const r = await kiln.done;
  assert.equal(r.status, 141);
  assert.deepEqual(fs.readdirSync(work), [], 'the work dir is gone');
  assert.deepEqual(fs.readdirSync(out), [], 'no layout');
});

test('stdout closed while a RUN step writes to it: exit 141, the step\'s processes killed, no work dir', { timeout: 30_000 }, async (t) => {
  const marker = `kiln-epipe-${process.pid}`;
  const ctx = context(t, { Dockerfile: `FROM ${registry.host}/library/busybox:latest\nRUN while true; do echo ${marker}; done\n` });
  const work = tempDir(t, 'kiln-work-');
  const out = tempDir(t, 'kiln-out-');
  const kiln = startKiln(['build', '--context', ctx, '--no-push', '--insecure-registry', registry.host, '--tar-path', path.join(out, 'image.tar')], { KILN_WORK_DIR: work });
  t.after(() => kiln.child.kill('SIGKILL'));
  kiln.child.stdout!.once('data', () => kiln.child.stdout!.destroy());
  const r = await kiln.done;
  assert.equal(r.status, 141, r.stderr);
  assert.match(r.stderr, /SIGPIPE received: stopping the build and cleaning up/);
  assert.doesNotMatch(r.stderr, /internal error/);
  assert.deepEqual(pidsWithCmdline(marker), [], 'the step\'s shell is gone');
  assert.deepEqual(fs.readdirSync(work), [], 'the work dir is gone');
  assert.deepEqual(fs.readdirSync(out), [], 'no archive, no temp file');
});
