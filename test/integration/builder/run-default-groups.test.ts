/** A RUN as the default user (root, no USER) gets its supplementary groups from the image's /etc/group, as BuildKit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { baseImageLayout } from '../../env/base-images.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

test('RUN without USER runs as root with the groups /etc/group lists root in; USER root:0 still gets none', async (t) => {
  const ctx = context(t, {
    group: 'root:x:0:\nwheel:x:10:root\nextra:x:2000:other,root\nnotroot:x:3000:other\n',
    Dockerfile: 'FROM busybox\nCOPY group /etc/group\nRUN id -G > /default-groups\nUSER 0:0\nRUN id -G > /explicit-groups\n',
  });
  const out = tempDir(t, 'kiln-out-');
  const layout = path.join(out, 'oci');
  const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', layout,
    '--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`]);
  assert.equal(r.status, 0, r.stderr);
  execFileSync('umoci', ['unpack', '--image', layout, path.join(out, 'bundle')], { stdio: 'pipe' });
  const root = path.join(out, 'bundle', 'rootfs');
  assert.equal(fs.readFileSync(path.join(root, 'default-groups'), 'utf8').trim(), '0 10 2000');
  assert.equal(fs.readFileSync(path.join(root, 'explicit-groups'), 'utf8').trim(), '0');
});
