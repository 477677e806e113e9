import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenges, pickChallenge, pushScopes, repositoryScope } from '../../../src/registry/challenge.ts';

test('Docker Hub bearer challenge', () => {
  const [c] = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
  assert.deepEqual(c, { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } });
});

test('basic challenge, case-insensitive scheme and parameter names', () => {
  assert.deepEqual(parseChallenges('BASIC Realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
});

test('commas inside quotes, escaped quotes, token values and spaces around =', () => {
  const [c] = parseChallenges('Bearer realm = "https://a/t?x=1,2", scope="repository:a:pull,push", error=insufficient_scope, note="say \\"hi\\""');
  assert.equal(c.params.realm, 'https://a/t?x=1,2');
  assert.equal(c.params.scope, 'repository:a:pull,push');
  assert.equal(c.params.error, 'insufficient_scope');
  assert.equal(c.params.note, 'say "hi"');
});

test('several challenges in one header; Bearer preferred over Basic', () => {
  const list = parseChallenges('Basic realm="b", Bearer realm="https://t/token",service="s"');
  assert.deepEqual(list.map((c) => c.scheme), ['basic', 'bearer']);
  assert.equal(pickChallenge(list)?.scheme, 'bearer');
  assert.equal(pickChallenge(parseChallenges('Basic realm="b"'))?.scheme, 'basic');
  assert.equal(pickChallenge(parseChallenges('Negotiate abc')), undefined);
  assert.deepEqual(parseChallenges(''), []);
});

test('scope strings', () => {
  assert.equal(repositoryScope('library/busybox', 'pull'), 'repository:library/busybox:pull');
  assert.equal(repositoryScope('a/b', 'push'), 'repository:a/b:pull,push');
  assert.deepEqual(pushScopes('dst'), ['repository:dst:pull,push']);
  assert.deepEqual(pushScopes('dst', ['src', 'src', 'dst']), ['repository:dst:pull,push', 'repository:src:pull']);
});
