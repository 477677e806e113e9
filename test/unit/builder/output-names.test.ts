import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutRefName, nameTagWithDigest, nameWithDigest } from '../../../src/builder/outputs.ts';

const D = `sha256:${'a'.repeat(64)}`;
const E = `sha256:${'b'.repeat(64)}`;

test('digest-file names come from the reference parser, keeping the destination as written', () => {
  assert.equal(nameWithDigest('host:5000/app:1.0', D), `host:5000/app@${D}`);
  assert.equal(nameWithDigest('host:5000/app', D), `host:5000/app@${D}`);
  assert.equal(nameWithDigest(`host:5000/app@${E}`, D), `host:5000/app@${D}`);
  assert.equal(nameWithDigest(`host:5000/app:1@${E}`, D), `host:5000/app@${D}`);
  assert.equal(nameTagWithDigest('host:5000/app', D), `host:5000/app:latest@${D}`);
  assert.equal(nameTagWithDigest(`host:5000/app@${E}`, D), `host:5000/app:latest@${D}`);
  assert.equal(nameTagWithDigest('busybox:1.36', D), `busybox:1.36@${D}`);
  assert.equal(layoutRefName('host:5000/app'), 'latest');
  assert.equal(layoutRefName(`host:5000/app:v2@${E}`), 'v2');
  assert.equal(layoutRefName(`localhost:5000/app@${E}`), 'latest');
  assert.equal(layoutRefName(undefined), 'latest');
});
