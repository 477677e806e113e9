import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IgnoreList, inPlaceIgnoreList, mountPoints } from '../../../../src/builder/rootfs/ignore-list.ts';

const mountinfo = [
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '90 27 254:0 /srv/ws /home/jenkins/my\\040workspace rw - ext4 /dev/vda rw',
  '91 27 0:50 / /var/run/secrets/kubernetes.io/serviceaccount ro - tmpfs tmpfs ro',
  '',
].join('\n');

test('mount points come from field 5, octal escapes decoded, / left out', () => {
  assert.deepEqual(mountPoints(mountinfo), ['/proc', '/home/jenkins/my workspace', '/var/run/secrets/kubernetes.io/serviceaccount']);
});

test('ignored: the path and everything below; holding: strict ancestors', () => {
  const list = new IgnoreList(['/kaniko', '/a/b/', '/', 'rel/x']);
  assert.deepEqual(list.paths, ['/a/b', '/kaniko', '/rel/x']);
  assert.ok(list.isProtected('/kaniko'));
  assert.ok(list.isProtected('/kaniko/.docker/config.json'));
  assert.ok(!list.isProtected('/kaniko2'));
  assert.ok(!list.isProtected('/a'));
  assert.ok(list.holdsProtected('/a'));
  assert.ok(list.holdsProtected('/'));
  assert.ok(!list.holdsProtected('/a/b'));
  assert.ok(!list.holdsProtected('/kan'));
});

test("kaniko's list: kernel dirs, /etc/mtab, Kiln's paths, /var/run unless asked, --ignore-path, mounts", () => {
  const list = inPlaceIgnoreList({ kilnPaths: ['/kaniko', '/tmp/kiln-build-1'], ignoreVarRun: true, ignorePaths: ['/cache'], mountinfo });
  for (const p of ['/proc', '/sys', '/dev', '/etc/mtab', '/kaniko', '/tmp/kiln-build-1', '/var/run', '/cache', '/home/jenkins/my workspace']) {
    assert.ok(list.isProtected(p), p);
  }
  const keepRun = inPlaceIgnoreList({ kilnPaths: [], ignoreVarRun: false, ignorePaths: [], mountinfo });
  assert.ok(!keepRun.isProtected('/var/run/x'));
  assert.ok(keepRun.isProtected('/var/run/secrets/kubernetes.io/serviceaccount/token'), 'a mount below /var/run stays ignored');
});
