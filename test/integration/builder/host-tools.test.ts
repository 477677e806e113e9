/**
 * A build that needs getfattr/setfattr fails at the start, naming them, when PATH lacks them: never an image
 * with deleted files come back or capabilities dropped. A metadata-only build needs neither. A RUN launcher
 * that cannot start is a clear error at its step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { baseImageLayout } from '../../env/base-images.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

/** A PATH with what bin/kiln itself uses (sh builtins aside) and nothing else. */
function barePath(t: { after(fn: () => void): void }): string {
  const dir = tempDir(t, 'kiln-bare-path-');
  for (const tool of ['dirname', 'readlink', 'basename']) {
    const found = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find((p) => fs.existsSync(p));
    assert.ok(found, `${tool} is needed by bin/kiln`);
    fs.symlinkSync(found, path.join(dir, tool));
  }
  return dir;
}

test('without getfattr/setfattr on PATH a COPY build fails before any step, naming the tools and the package', async (t) => {
  const PATH = barePath(t);
  const ctx = context(t, { Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' });
  const out = tempDir(t, 'kiln-out-');
  const r = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'oci')], { PATH });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /error: getfattr, setfattr not found on PATH/);
  assert.match(r.stderr, /hint: install attr/);
  assert.doesNotMatch(r.stderr, /STEP/);
  assert.equal(fs.existsSync(path.join(out, 'oci')), false);

  const labels = context(t, { Dockerfile: 'FROM scratch\nLABEL a=b\n' });
  const ok = await kiln(['build', '--context', labels, '--no-push', '--oci-layout-path', path.join(out, 'labels')], { PATH });
  assert.equal(ok.status, 0, ok.stderr);
});

test('a RUN whose launcher cannot start (KILN_PERL names no perl) fails at that step, naming the cause, with nothing written', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM busybox\nRUN echo hi > /hi\n' });
  const out = tempDir(t, 'kiln-out-');
  const r = await kiln(['build', '--context', ctx, '--no-push', '--isolation=chroot', '--oci-layout-path', path.join(out, 'oci'),
    '--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`], { KILN_PERL: path.join(out, 'no-such-perl') });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /error: Dockerfile:2: cannot start the RUN step's launcher: spawn \S+no-such-perl ENOENT/);
  assert.match(r.stderr, /hint: Kiln runs RUN steps with util-linux \(setpriv, unshare\) and perl/);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  assert.equal(fs.existsSync(path.join(out, 'oci')), false);
});
