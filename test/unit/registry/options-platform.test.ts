import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KilnError } from '../../../src/errors.ts';
import { addRegistryMap, addRegistryMirror, defaultRegistryOptions, parseRegistryCertificate, parseRegistryClientCert } from '../../../src/registry/options.ts';
import { selectManifest } from '../../../src/registry/platform.ts';
import { pullCandidates } from '../../../src/registry/pull.ts';
import { parseReference, formatReference } from '../../../src/registry/reference.ts';
import { isImmutableTagError } from '../../../src/registry/push.ts';

test('registry flags parse as kaniko writes them', () => {
  assert.deepEqual(parseRegistryCertificate('r.io=/c/ca.crt'), ['r.io', '/c/ca.crt']);
  assert.deepEqual(parseRegistryClientCert('r.io=/c/a.crt,/c/a.key'), ['r.io', { certFile: '/c/a.crt', keyFile: '/c/a.key' }]);
  assert.throws(() => parseRegistryCertificate('nope'), KilnError);
  assert.throws(() => parseRegistryClientCert('r.io=/only-cert'), KilnError);
  let maps = addRegistryMap({}, 'index.docker.io=mirror.gcr.io;m2.io/hub');
  maps = addRegistryMirror(maps, 'm3.io');
  assert.deepEqual(maps, { 'docker.io': ['mirror.gcr.io', 'm2.io/hub', 'm3.io'] });
});

test('pull candidates: mappings in order (with path prefix), then the original unless fallback is skipped', () => {
  const opts = defaultRegistryOptions({ registryMaps: { 'docker.io': ['m1.io', 'm2.io/hub'] } });
  const ref = parseReference('busybox:1');
  assert.deepEqual(pullCandidates(ref, opts).map((c) => [formatReference(c.ref), c.mapped]), [
    ['m1.io/library/busybox:1', true],
    ['m2.io/hub/library/busybox:1', true],
    ['docker.io/library/busybox:1', false],
  ]);
  assert.equal(pullCandidates(ref, { ...opts, skipDefaultRegistryFallback: true }).length, 2);
  assert.deepEqual(pullCandidates(parseReference('ghcr.io/a/b'), opts).map((c) => c.ref.registry), ['ghcr.io']);
});

test('selectManifest takes the first match and lists what exists otherwise', () => {
  const d = (arch: string, digit: string, variant?: string) => ({ mediaType: 'm', size: 1, digest: 'sha256:' + digit.repeat(64), platform: { os: 'linux', architecture: arch, ...(variant && { variant }) } });
  const index = { schemaVersion: 2 as const, manifests: [d('amd64', 'a'), d('arm', 'b', 'v6'), d('arm', 'c', 'v7'), { mediaType: 'm', size: 1, digest: 'sha256:' + 'd'.repeat(64), platform: { os: 'unknown', architecture: 'unknown' } }] };
  assert.equal(selectManifest(index, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'x').digest, 'sha256:' + 'c'.repeat(64));
  assert.equal(selectManifest(index, { os: 'linux', architecture: 'x86_64' }, 'x').digest, 'sha256:' + 'a'.repeat(64));
  assert.throws(() => selectManifest(index, { os: 'linux', architecture: 's390x' }, 'img'), (e: unknown) => {
    assert.ok(e instanceof KilnError);
    assert.equal(e.code, 'PLATFORM_NOT_FOUND');
    assert.match(e.hint ?? '', /available: linux\/amd64, linux\/arm\/v6, linux\/arm\/v7;/);
    return true;
  });
});

test('immutable tag refusals are recognised', () => {
  assert.ok(isImmutableTagError("ImageTagAlreadyExistsException: The image tag 'v1' already exists"));
  assert.ok(isImmutableTagError('TAG_INVALID: manifest tag did not match; tag is immutable'));
  assert.ok(!isImmutableTagError('MANIFEST_BLOB_UNKNOWN: blob unknown to registry'));
});
