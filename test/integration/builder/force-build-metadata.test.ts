/**
 * --force-build-metadata through bin/kiln: every instruction of the build gets a layer (empty for metadata
 * ones), the base image's layers and history stay as they were; checked with skopeo.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { run } from '../../env/run.ts';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { seedBusybox } from '../registry/helpers.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

let plain: TestRegistry;
before(async () => {
  plain = await startRegistry({ mode: 'plain' });
  await seedBusybox(plain);
});
after(() => plain?.stop());

interface Summary { layers: number; history: Array<{ created_by?: string; empty_layer?: boolean }>; diffIds: number }

async function summary(layout: string): Promise<Summary> {
  const manifest = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${layout}`])).stdout) as { layers: unknown[] };
  const config = JSON.parse((await run('skopeo', ['inspect', '--config', `oci:${layout}`])).stdout) as {
    history: Summary['history']; rootfs: { diff_ids: string[] };
  };
  return { layers: manifest.layers.length, history: config.history, diffIds: config.rootfs.diff_ids.length };
}

test('--force-build-metadata: a layer per instruction of the build; the base image untouched', async (t) => {
  const ctx = context(t, {
    Dockerfile: `FROM ${plain.host}/library/busybox:latest AS base\nENV A=1\n\nFROM base\nLABEL team=build\nCOPY a.txt /a.txt\nCMD ["sh"]\n`,
    'a.txt': 'a\n',
  });
  const out = tempDir(t, 'kiln-out-');
  const plainBuild = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'plain')]);
  assert.equal(plainBuild.status, 0, plainBuild.stderr);
  const forced = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'forced'), '--force-build-metadata']);
  assert.equal(forced.status, 0, forced.stderr);
  const a = await summary(path.join(out, 'plain'));
  const b = await summary(path.join(out, 'forced'));
  assert.equal(b.history.length, a.history.length, 'the same history entries');
  assert.equal(b.layers, a.layers + 3, 'ENV, LABEL and CMD got a layer each');
  assert.equal(b.diffIds, b.layers);
  const baseEntries = a.history.length - 4;
  assert.deepEqual(b.history.slice(0, baseEntries), a.history.slice(0, baseEntries), 'the base image history is kept');
  assert.ok(b.history.slice(baseEntries).every((h) => !h.empty_layer), JSON.stringify(b.history.slice(baseEntries)));
  // An independent reader takes the forced layers as layers.
  await run('skopeo', ['copy', `oci:${path.join(out, 'forced')}`, `dir:${path.join(out, 'dir')}`]);
});
