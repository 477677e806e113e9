/**
 * Base layers that are not what the image says: bytes that do not match the layer's digest (a proxy flips
 * one byte), and a config whose diff_ids do not match the unpacked bytes. Either way: a clean error naming
 * the layer, exit 1, no crash, nothing left in the work dir or the output dir.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { remoteImage } from '../../../src/registry/pull.ts';
import { pushImage } from '../../../src/registry/push.ts';
import { parseReference } from '../../../src/registry/reference.ts';
import { firstN, startFaultProxy } from '../../env/fault-proxy.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { busyboxRegistry, optionsFor, variantImage } from '../registry/helpers.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

let registry: TestRegistry;
let layerDigest: string;
before(async () => {
  ({ registry, layerDigest } = await busyboxRegistry());
  const base = await remoteImage(parseReference(`${registry.host}/library/busybox:latest`), optionsFor(registry));
  const lying = await variantImage(base, (c) => ({ ...c, rootfs: { type: 'layers', diff_ids: c.rootfs.diff_ids.map(() => `sha256:${'0'.repeat(64)}`) } }));
  await pushImage(lying, [parseReference(`${registry.host}/bad/diffids:1`)], optionsFor(registry));
});
after(async () => {
  await registry?.stop();
});

async function buildFrom(t: { after(fn: () => void): void }, from: string) {
  const ctx = context(t, { Dockerfile: `FROM ${from}\nCOPY a.txt /a.txt\n`, 'a.txt': 'a\n' });
  const work = tempDir(t, 'kiln-work-');
  const out = tempDir(t, 'kiln-out-');
  const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'layout')], { KILN_WORK_DIR: work });
  return { r, work, out };
}

test('a base layer whose bytes do not match its digest: BLOB_DIGEST_MISMATCH, exit 1, nothing left', { timeout: 60_000 }, async (t) => {
  const proxy = await startFaultProxy(registry.host, firstN(10, (r) => r.path.endsWith(`/blobs/${layerDigest}`), { kind: 'corrupt', offset: 5000 }));
  t.after(() => proxy.stop());
  const { r, work, out } = await buildFrom(t, `${proxy.host}/library/busybox:latest`);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`error: .*blob ${layerDigest} .*has digest sha256:`));
  assert.doesNotMatch(r.stderr, /internal error|Unhandled|node:events/);
  assert.deepEqual(fs.readdirSync(work), []);
  assert.deepEqual(fs.readdirSync(out), []);
});

test("a base image whose config diff_ids do not match its layers: LAYER_DIFFID_MISMATCH, exit 1, nothing left", { timeout: 60_000 }, async (t) => {
  const { r, work, out } = await buildFrom(t, `${registry.host}/bad/diffids:1`);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`error: .*layer ${layerDigest} unpacks to sha256:[0-9a-f]{64}, but the image config names sha256:0{64}`));
  assert.doesNotMatch(r.stderr, /internal error/);
  assert.deepEqual(fs.readdirSync(work), []);
  assert.deepEqual(fs.readdirSync(out), []);
});
