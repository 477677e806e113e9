/**
 * A context is input the builder does not trust: its Dockerfile and .dockerignore are read inside it, and
 * nothing of a host file it points at reaches the output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { kiln, tempDir } from '../builder/kiln-process.ts';

test('a Dockerfile symlinked to a host file outside the context is not followed out, and not echoed', async (t) => {
  const outside = tempDir(t, 'kiln-outside-');
  // A file whose first line would be quoted by a parse error ("unknown instruction").
  fs.writeFileSync(path.join(outside, 'shadow'), 'root:$y$SECRET-HASH:19000:0:99999:7:::\n');
  const ctx = tempDir(t, 'kiln-hostile-ctx-');
  fs.symlinkSync(path.join(outside, 'shadow'), path.join(ctx, 'Dockerfile'));
  const out = tempDir(t, 'kiln-hostile-out-');
  const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'oci')]);
  assert.notEqual(r.status, 0);
  assert.doesNotMatch(r.stdout + r.stderr, /SECRET-HASH|root:/);
  assert.match(r.stderr, /no Dockerfile/);
  assert.equal(fs.existsSync(path.join(out, 'oci')), false);
});
