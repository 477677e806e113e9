import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBuildArgv } from '../../../src/cli/build-options.ts';
import { isKilnError } from '../../../src/errors.ts';

function context(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-opts-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  return dir;
}

test('--kaniko-dir / KANIKO_DIR other than /kaniko moves DOCKER_CONFIG to DIR/.docker, as kaniko does', (t) => {
  const ctx = context(t);
  const base = ['-c', ctx, '--no-push'];
  assert.equal(parseBuildArgv(base, { DOCKER_CONFIG: '/etc/docker-config' }, '/').registry.dockerConfigDir, '/etc/docker-config');
  assert.equal(parseBuildArgv([...base, '--kaniko-dir=/kaniko'], { DOCKER_CONFIG: '/d' }, '/').registry.dockerConfigDir, '/d');
  assert.equal(parseBuildArgv([...base, '--kaniko-dir=/opt/kaniko'], { DOCKER_CONFIG: '/d' }, '/').registry.dockerConfigDir, '/opt/kaniko/.docker');
  assert.equal(parseBuildArgv(base, { KANIKO_DIR: '/k' }, '/').registry.dockerConfigDir, '/k/.docker');
  assert.equal(parseBuildArgv(base, {}, '/').registry.dockerConfigDir, undefined);
});

test('--credential-helpers: kaniko names, repeatable; an empty value turns them all off; other names are refused', (t) => {
  const ctx = context(t);
  const base = ['-c', ctx, '--no-push'];
  assert.equal(parseBuildArgv(base, {}, '/').registry.credentialHelpers, undefined);
  assert.deepEqual(parseBuildArgv([...base, '--credential-helpers=ecr', '--credential-helpers', 'google'], {}, '/').registry.credentialHelpers, ['ecr', 'google']);
  assert.deepEqual(parseBuildArgv([...base, '--credential-helpers='], {}, '/').registry.credentialHelpers, []);
  assert.throws(() => parseBuildArgv([...base, '--credential-helpers=ecr-login'], {}, '/'), (err: unknown) => {
    assert.ok(isKilnError(err));
    assert.match(err.message, /invalid value "ecr-login" for --credential-helpers: expected google, ecr, acr or gitlab/);
    return true;
  });
});

test('--annotation: KEY=VALUE in order, a later key replacing an earlier one', (t) => {
  const ctx = context(t);
  const o = parseBuildArgv(['-c', ctx, '--no-push', '--annotation', 'org.opencontainers.image.source=https://x', '--annotation=a=1', '--annotation=a=2'], {}, '/');
  assert.deepEqual([...o.output.annotations], [['org.opencontainers.image.source', 'https://x'], ['a', '2']]);
});

test('--preserve-context and --materialize are accepted with a notice saying why Kiln needs neither', (t) => {
  const ctx = context(t);
  const o = parseBuildArgv(['-c', ctx, '--no-push', '--preserve-context', '--materialize', '--force-build-metadata', '--image-fs-extract-retry=2'], {}, '/');
  assert.ok(o.notices.some((n) => /--preserve-context has no effect in Kiln: .*never deletes or extracts over the build context/.test(n)), o.notices.join('\n'));
  assert.ok(o.notices.some((n) => /--materialize has no effect in Kiln/.test(n)), o.notices.join('\n'));
  assert.equal(o.forceBuildMetadata, true);
  assert.equal(o.imageFsExtractRetry, 2);
});
