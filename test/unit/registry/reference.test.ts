import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KilnError } from '../../../src/errors.ts';
import { apiHost, familiarReference, formatReference, parseReference } from '../../../src/registry/reference.ts';

const D = 'sha256:' + 'a'.repeat(64);

// input → [registry, repository, tag, digest]  (Docker's ParseNormalizedNamed + default tag)
const valid: [string, string, string, string | undefined, string | undefined][] = [
  ['busybox', 'docker.io', 'library/busybox', 'latest', undefined],
  ['busybox:1.36', 'docker.io', 'library/busybox', '1.36', undefined],
  ['library/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
  ['docker.io/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
  ['index.docker.io/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
  ['index.docker.io/user/app:v1', 'docker.io', 'user/app', 'v1', undefined],
  ['user/app', 'docker.io', 'user/app', 'latest', undefined],
  ['localhost/x', 'localhost', 'x', 'latest', undefined],
  ['localhost:5000/x', 'localhost:5000', 'x', 'latest', undefined],
  ['127.0.0.1:5000/a/b:tag', '127.0.0.1:5000', 'a/b', 'tag', undefined],
  ['gcr.io/project/img', 'gcr.io', 'project/img', 'latest', undefined],
  ['ghcr.io/o/r/deep/path:1.0-rc.1', 'ghcr.io', 'o/r/deep/path', '1.0-rc.1', undefined],
  [`busybox@${D}`, 'docker.io', 'library/busybox', undefined, D],
  [`busybox:1.36@${D}`, 'docker.io', 'library/busybox', '1.36', D],
  [`r.io:443/a@${D}`, 'r.io:443', 'a', undefined, D],
  ['a__b/c-d--e/f.g_h', 'docker.io', 'a__b/c-d--e/f.g_h', 'latest', undefined],
  ['[::1]:5000/x', '[::1]:5000', 'x', 'latest', undefined],
  ['Registry.Example.com/x', 'Registry.Example.com', 'x', 'latest', undefined],
  ['UPPER/x', 'UPPER', 'x', 'latest', undefined],
  ['x:' + 'a'.repeat(128), 'docker.io', 'library/x', 'a'.repeat(128), undefined],
  ['x:_under.Score-1', 'docker.io', 'library/x', '_under.Score-1', undefined],
];

for (const [input, registry, repository, tag, digest] of valid) {
  test(`parses ${input.length > 60 ? input.slice(0, 60) + '…' : input}`, () => {
    const ref = parseReference(input);
    assert.equal(ref.registry, registry);
    assert.equal(ref.repository, repository);
    assert.equal(ref.tag, tag);
    assert.equal(ref.digest, digest);
  });
}

// input → a word the message must contain
const invalid: [string, RegExp][] = [
  ['', /at least one component/],
  ['Busybox', /must be lowercase/],
  ['docker.io/Library/busybox', /must be lowercase/],
  ['localhost:5000/Foo:tag', /must be lowercase/],
  ['x:' + 'a'.repeat(129), /longer than 128/],
  ['x:-tag', /tag "-tag"/],
  ['x:.tag', /tag ".tag"/],
  ['x:ta$g', /tag "ta\$g"/],
  ['x@sha256:abc', /digest/],
  [`x@sha256:${'a'.repeat(63)}`, /digest/],
  [`x@sha256:${'A'.repeat(64)}`, /lowercase/],
  [`x@md5:${'a'.repeat(32)}`, /unsupported digest algorithm "md5"/],
  ['a'.repeat(64), /64-byte hexadecimal/],
  ['has space', /whitespace|invalid reference/],
  ['x/', /empty|invalid/],
  ['a//b', /empty|invalid/],
  ['-x', /invalid reference format/],
  ['r.io/' + 'a'.repeat(260), /255 characters/],
  ['x::tag', /tag|invalid/],
];

for (const [input, message] of invalid) {
  test(`rejects ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + '…' : input)}`, () => {
    assert.throws(() => parseReference(input), (err: unknown) => {
      assert.ok(err instanceof KilnError);
      assert.equal(err.code, 'INVALID_REFERENCE');
      assert.match(err.message, message);
      return true;
    });
  });
}

test('formats canonical and familiar names', () => {
  assert.equal(formatReference(parseReference('busybox')), 'docker.io/library/busybox:latest');
  assert.equal(familiarReference(parseReference('busybox')), 'busybox:latest');
  assert.equal(familiarReference(parseReference('user/app:1')), 'user/app:1');
  assert.equal(formatReference(parseReference(`localhost:5000/x@${D}`)), `localhost:5000/x@${D}`);
  assert.equal(formatReference(parseReference(`x:t@${D}`)), `docker.io/library/x:t@${D}`);
});

test('docker.io requests go to registry-1.docker.io; others to themselves', () => {
  assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
  assert.equal(apiHost('127.0.0.1:5000'), '127.0.0.1:5000');
});

test('a default tag can be chosen', () => {
  assert.equal(parseReference('x', { defaultTag: 'edge' }).tag, 'edge');
});
