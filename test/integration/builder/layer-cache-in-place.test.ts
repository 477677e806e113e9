/**
 * The layer cache in place (`--isolation=none`, inside a jail only: see jail.ts): a hit lands on `/` as running
 * the step would have, whether `/` is laid out yet or not, and the `oci:` cache survives `/` being emptied.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { baseImageLayout } from '../../env/base-images.ts';
import { context, kiln, tempDir } from './kiln-process.ts';
import { createJail, jailSkip, mountsBelow } from './jail.ts';
import { cacheEntries, fileInImage, stepOutcomes } from './layer-cache-helpers.ts';

const COLD = 'FROM busybox\nCOPY hello.txt /hello\nRUN echo once > /f && date +%s%N > /stamp\n';

test('in place, cached layers are laid onto / and later RUN steps see them', { skip: jailSkip }, async (t) => {
  const ctx = context(t, { Dockerfile: COLD, 'hello.txt': 'hello\n' });
  const out = tempDir(t, 'kiln-inplace-cache-');
  const cache = path.join(out, 'cache');
  const cold = await kiln(['build', '-c', ctx, '--no-push', '--oci-layout-path', path.join(out, 'cold'), '--cache=true', `--cache-repo=oci:${cache}`,
    '--reproducible', '--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`]);
  assert.equal(cold.status, 0, cold.stderr);
  assert.equal(cacheEntries(cache).length, 1);

  fs.appendFileSync(path.join(ctx, 'Dockerfile'), 'RUN cat /hello /f /stamp > /seen\n');
  const jail = createJail();
  t.after(() => {
    jail.destroy();
    assert.deepEqual(mountsBelow(jail.root), []);
  });
  const r = await jail.kiln(['build', '-c', '/ctx', '--no-push', '--oci-layout-path', '/out/warm', '--isolation=none', '--cache=true',
    '--cache-repo=oci:/out/cache', '--reproducible', '--base-image-source', 'busybox=oci:/images/busybox'], {
    binds: [{ source: ctx, target: '/ctx', readOnly: true }, { source: out, target: '/out' },
      { source: await baseImageLayout('busybox'), target: '/images/busybox', readOnly: true }],
    env: { KILN_IN_PLACE_CONFIRMED: '1' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(stepOutcomes(r.stderr), { 1: 'ran', 2: 'ran', 3: 'cached', 4: 'ran' });
  const stamp = await fileInImage(path.join(out, 'cold'), '/stamp');
  assert.equal(await fileInImage(path.join(out, 'warm'), '/seen'), `hello\nonce\n${stamp}`);
  assert.equal(fs.readFileSync(path.join(jail.root, 'f'), 'utf8'), 'once\n', 'the hit is on the jail\'s /');
  assert.equal(cacheEntries(cache).length, 2, 'the new RUN was written to the cache');
});
