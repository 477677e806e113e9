/** `--log-format=json`: a RUN step's output is logged as JSON entries too, so every line of stderr is JSON. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { baseImageLayout } from '../../env/base-images.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

test('RUN output becomes JSON lines with their stream; stdout stays empty', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM busybox\nRUN echo out-line && echo err-line >&2 && printf "no newline"\n' });
  const out = tempDir(t, 'kiln-out-');
  const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'oci'), '--log-format=json',
    '--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  const entries = r.stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as { msg: string; stream?: string });
  assert.ok(entries.some((e) => e.msg === 'out-line' && e.stream === 'stdout'), r.stderr);
  assert.ok(entries.some((e) => e.msg === 'err-line' && e.stream === 'stderr'), r.stderr);
  assert.ok(entries.some((e) => e.msg === 'no newline' && e.stream === 'stdout'), r.stderr);
});
