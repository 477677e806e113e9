/** The in-place guard, with every probe stubbed: nothing here touches the filesystem. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertInPlaceAllowed, inPlaceRefusal, type GuardProbe } from '../../../../src/builder/rootfs/in-place-guard.ts';

function probe(over: Partial<GuardProbe> & { files?: Record<string, string> } = {}): GuardProbe {
  const files = over.files ?? {};
  return {
    env: {}, codeDir: '/kaniko/kiln', kanikoDir: '/kaniko',
    exists: (f) => f in files,
    readFile: (f) => files[f],
    ...over,
  };
}

test('a plain machine is refused, whatever the install', () => {
  assert.match(inPlaceRefusal(probe()) ?? '', /does not look like a container/);
  assert.match(inPlaceRefusal(probe({ files: { '/proc/1/cgroup': '0::/init.scope\n' } })) ?? '', /container/);
});

test('a container is not enough: Kiln must be installed inside the kaniko dir', () => {
  const docker = { '/.dockerenv': '' };
  assert.match(inPlaceRefusal(probe({ files: docker, codeDir: '/work/main' })) ?? '', /runs from \/work\/main, not from inside the kaniko dir \/kaniko/);
  assert.match(inPlaceRefusal(probe({ files: docker, codeDir: '/kaniko-other' })) ?? '', /not from inside/);
  assert.equal(inPlaceRefusal(probe({ files: docker })), undefined);
  assert.equal(inPlaceRefusal(probe({ files: docker, codeDir: '/kaniko' })), undefined);
});

test('every container hint counts', () => {
  assert.equal(inPlaceRefusal(probe({ files: { '/run/.containerenv': '' } })), undefined);
  assert.equal(inPlaceRefusal(probe({ env: { container: 'podman' } })), undefined);
  assert.equal(inPlaceRefusal(probe({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' } })), undefined);
  assert.equal(inPlaceRefusal(probe({ files: { '/proc/1/cgroup': '0::/kubepods/burstable/pod1/abc\n' } })), undefined);
});

test('KILN_IN_PLACE_CONFIRMED=1 (and only 1) confirms anywhere', () => {
  assert.equal(inPlaceRefusal(probe({ env: { KILN_IN_PLACE_CONFIRMED: '1' }, codeDir: '/work/main' })), undefined);
  assert.notEqual(inPlaceRefusal(probe({ env: { KILN_IN_PLACE_CONFIRMED: 'yes' }, codeDir: '/work/main' })), undefined);
});

test('a refusal is a KilnError with exit code 2 and a hint', () => {
  assert.throws(() => assertInPlaceAllowed(probe({ codeDir: '/work/main' })), (err: any) => {
    assert.equal(err.code, 'IN_PLACE_REFUSED');
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /--isolation=none builds on \/ and deletes its files; refusing/);
    assert.match(err.hint, /KILN_IN_PLACE_CONFIRMED=1/);
    return true;
  });
});
