/** Docker Hub's three names are one registry in every flag and lookup; mirrors are hosts, not URLs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../../../src/errors.ts';
import { addRegistryMap, addRegistryMirror, defaultRegistryOptions, isInsecure, registryEntry } from '../../../src/registry/options.ts';
import { pullCandidates } from '../../../src/registry/pull.ts';
import { normalizeRegistryName, parseReference } from '../../../src/registry/reference.ts';

test('docker.io, index.docker.io and registry-1.docker.io normalise to docker.io', () => {
  for (const name of ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'Index.Docker.IO']) assert.equal(normalizeRegistryName(name), 'docker.io');
  assert.equal(normalizeRegistryName('ghcr.io'), 'ghcr.io');
  assert.equal(normalizeRegistryName('Localhost:5000'), 'localhost:5000');
});

test('--registry-map with any of Docker Hub\'s names maps pulls of Docker Hub images', () => {
  for (const key of ['index.docker.io', 'docker.io', 'registry-1.docker.io']) {
    const opts = defaultRegistryOptions({ registryMaps: addRegistryMap({}, `${key}=mirror.example:5000/hub`) });
    assert.deepEqual(Object.keys(opts.registryMaps), ['docker.io']);
    for (const name of ['busybox', 'index.docker.io/library/busybox', 'registry-1.docker.io/library/busybox']) {
      const candidates = pullCandidates(parseReference(name), opts);
      assert.equal(candidates[0].ref.registry, 'mirror.example:5000', `${key} / ${name}`);
      assert.equal(candidates[0].ref.repository, 'hub/library/busybox');
    }
  }
});

test('per-registry flags find Docker Hub under any of its names', () => {
  const opts = defaultRegistryOptions({ insecureRegistries: ['index.docker.io'] });
  assert.equal(isInsecure(opts, 'docker.io', 'pull'), true);
  assert.equal(registryEntry({ 'registry-1.docker.io': '/ca.pem' }, 'docker.io'), '/ca.pem');
  assert.equal(registryEntry({ 'other.io': '/ca.pem' }, 'docker.io'), undefined);
});

test('a mirror given as a URL is refused with a hint, not read as host "http"', () => {
  for (const [add, flag] of [[(m: string) => addRegistryMirror({}, m), '--registry-mirror'], [(m: string) => addRegistryMap({}, `index.docker.io=${m}`), '--registry-map']] as const) {
    assert.throws(() => add('http://127.0.0.1:5000'), (err: unknown) => {
      assert.ok(err instanceof KilnError);
      assert.equal(err.exitCode, 2);
      assert.match(err.message, new RegExp(`^${flag}: "http://127.0.0.1:5000" is a URL`));
      assert.match(err.hint ?? '', /--insecure-registry 127\.0\.0\.1:5000/);
      return true;
    });
    assert.throws(() => add('https://mirror.gcr.io/'), /is a URL/);
    assert.throws(() => add('not a host'), /does not start with a registry host/);
  }
  assert.deepEqual(addRegistryMirror({}, 'mirror.gcr.io'), { 'docker.io': ['mirror.gcr.io'] });
});
