/** --single-snapshot and --snapshot-mode in private-dir builds (namespace overlay and chroot walks). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { baseImageLayout } from '../../env/base-images.ts';
import { summarizeLayout } from '../../conformance/summarize.ts';
import { context, kiln, tempDir } from './kiln-process.ts';
import { unlessRoot } from '../../env/requirements.ts';

const skip = unlessRoot('RUN in namespace and chroot modes');
const dockerfile = 'FROM busybox\nCOPY a /a\nRUN echo r > /r && rm /bin/ls\nCOPY --link a /linked\nRUN chmod 600 /a\n';

async function build(t: { after(fn: () => void): void }, ctx: string, extra: string[]): Promise<Awaited<ReturnType<typeof summarizeLayout>>> {
  const layout = path.join(tempDir(t, 'kiln-snap-'), 'oci');
  const r = await kiln(['build', '-c', ctx, '--no-push', '--oci-layout-path', layout, '--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`, ...extra]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /has no effect/);
  return summarizeLayout(layout);
}

test('--single-snapshot: one layer per stage with the same files, namespace and chroot', { skip }, async (t) => {
  const ctx = context(t, { Dockerfile: dockerfile, a: 'a\n' });
  const layered = await build(t, ctx, []);
  for (const isolation of ['namespace', 'chroot']) {
    const single = await build(t, ctx, ['--single-snapshot', `--isolation=${isolation}`]);
    assert.equal(single.layers_total, layered.layers_total! - 3, isolation);
    assert.deepEqual(single.files, layered.files, isolation);
    assert.equal(single.history!.filter((h) => !h.empty_layer).length, layered.history!.filter((h) => !h.empty_layer).length - 3);
  }
});

test('--snapshot-mode redo|full see every change of chroot RUN steps; time, as kaniko, misses a chmod', { skip }, async (t) => {
  const ctx = context(t, { Dockerfile: dockerfile, a: 'a\n' });
  const reference = await build(t, ctx, ['--isolation=namespace']);
  assert.equal(reference.files?.['/a']?.mode, '0600');
  for (const mode of ['redo', 'full']) {
    const s = await build(t, ctx, ['--isolation=chroot', `--snapshot-mode=${mode}`]);
    assert.ok(JSON.stringify(s.files) === JSON.stringify(reference.files), `mode ${mode} gives the files of the overlay snapshot`);
  }
  const time = await build(t, ctx, ['--isolation=chroot', '--snapshot-mode=time']);
  assert.equal(time.files?.['/a']?.mode, '0644', 'a chmod moves no mtime: mode time does not see it');
  assert.equal(time.files?.['/r']?.type, 'file');
  assert.equal(time.files?.['/bin/ls'], undefined);
});
