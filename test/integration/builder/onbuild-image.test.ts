/**
 * ONBUILD triggers of a base image pulled from a registry run before the child's instructions, as BuildKit
 * runs them; the child's config does not carry them on, but keeps its own ONBUILD instructions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

let registry: TestRegistry;
before(async () => {
  registry = await startRegistry({ mode: 'plain' });
});
after(async () => {
  await registry?.stop();
});

test('a registry base image\'s ONBUILD triggers run in the child, and are not inherited further', async (t) => {
  const baseCtx = context(t, {
    Dockerfile: 'FROM scratch\nONBUILD COPY from-child.txt /triggered.txt\nONBUILD LABEL triggered=yes\nONBUILD ENV FROM_TRIGGER=1\n',
  });
  const base = `${registry.host}/onbuild/base:1`;
  const pushed = await kiln(['build', '--context', baseCtx, '--destination', base, '--insecure']);
  assert.equal(pushed.status, 0, pushed.stderr);

  const childCtx = context(t, { Dockerfile: `FROM ${base}\nLABEL child=yes\nONBUILD RUN echo grandchild\n`, 'from-child.txt': 'child context\n' });
  const out = tempDir(t, 'kiln-out-');
  const layout = path.join(out, 'oci');
  const r = await kiln(['build', '--context', childCtx, '--no-push', '--oci-layout-path', layout, '--insecure-pull']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /STEP 2\/6: COPY from-child\.txt \/triggered\.txt/);

  // The raw config: skopeo's parsed one has no OnBuild field (the OCI spec has none; docker's does).
  const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', '--raw', `oci:${layout}`], { encoding: 'utf8' }));
  assert.equal(config.config.Labels.triggered, 'yes');
  assert.equal(config.config.Labels.child, 'yes');
  assert.ok(config.config.Env.includes('FROM_TRIGGER=1'));
  assert.deepEqual(config.config.OnBuild, ['RUN echo grandchild']);
  const bundle = path.join(out, 'bundle');
  execFileSync('umoci', ['unpack', '--image', layout, bundle], { stdio: 'pipe' });
  assert.equal(execFileSync('cat', [path.join(bundle, 'rootfs', 'triggered.txt')], { encoding: 'utf8' }), 'child context\n');
});

test('a broken trigger in a base image fails at the child\'s FROM line', async (t) => {
  const baseCtx = context(t, { Dockerfile: 'FROM scratch\nONBUILD NOPE this\n' });
  const base = `${registry.host}/onbuild/broken:1`;
  const pushed = await kiln(['build', '--context', baseCtx, '--destination', base, '--insecure']);
  assert.equal(pushed.status, 0, pushed.stderr);
  const childCtx = context(t, { Dockerfile: `FROM scratch AS first\nFROM ${base}\n` });
  const out = tempDir(t, 'kiln-out-');
  const r = await kiln(['build', '--context', childCtx, '--no-push', '--oci-layout-path', path.join(out, 'oci'), '--insecure-pull']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /error: Dockerfile:2: ONBUILD trigger of base image .*onbuild\/broken:1: unknown instruction: NOPE/);
});
