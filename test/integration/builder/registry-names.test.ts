/**
 * `kiln build` with kaniko's documented `--registry-map index.docker.io=HOST`: the pull goes to the mirror,
 * the log says which mirror served it and why one was skipped; a mirror written as a URL is refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { seedBusybox } from '../registry/helpers.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

let mirror: TestRegistry;
before(async () => {
  mirror = await startRegistry({ mode: 'plain' });
  await seedBusybox(mirror, 'library/busybox:latest');
});
after(async () => {
  await mirror?.stop();
});

test('--registry-map index.docker.io=HOST pulls Docker Hub images from HOST and says so', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM busybox\nLABEL mirrored=yes\n' });
  const out = tempDir(t, 'kiln-out-');
  const layout = path.join(out, 'oci');
  const dead = '127.0.0.1:9'; // discard port: nothing listens there
  const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', layout,
    '--registry-map', `index.docker.io=${dead};index.docker.io=${mirror.host}`, '--insecure-registry', mirror.host, '--insecure-registry', dead,
    '--skip-default-registry-fallback']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`skipping mirror ${dead.replace(/\./g, '\\.')} for docker\\.io/library/busybox:latest: .+`));
  assert.match(r.stderr, new RegExp(`from mirror ${mirror.host.replace(/\./g, '\\.')}`));
  const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${layout}`], { encoding: 'utf8' }));
  assert.equal(config.config.Labels.mirrored, 'yes');
});

test('--registry-mirror given as a URL exits 2 naming the flag, before any pull', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM busybox\n' });
  const out = tempDir(t, 'kiln-out-');
  const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'oci'), '--registry-mirror', `http://${mirror.host}`]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--registry-mirror: "http:\/\/127\.0\.0\.1:\d+" is a URL/);
  assert.match(r.stderr, /--insecure-registry 127\.0\.0\.1:\d+/);
  assert.doesNotMatch(r.stderr, /resolving image/);
});
