/** A RUN step on the real busybox base image (umoci-unpacked) as an overlay lower dir, like the executor will. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { baseImageLayout, baseImageRefNames } from '../../env/base-images.ts';
import { unpack } from '../../env/umoci.ts';
import { makeTempDir, removeDir, skipUnlessRoot, step } from './helpers.ts';

describe('runStep on the busybox base image', { skip: skipUnlessRoot }, () => {
  let work: string;
  let lower: string;
  before(async () => {
    work = makeTempDir('kiln-sandbox-image-');
    await unpack(await baseImageLayout('busybox'), baseImageRefNames.busybox, join(work, 'bundle'));
    lower = join(work, 'bundle', 'rootfs');
  });
  after(() => removeDir(work));

  it('runs a shell script as nobody and as root; the layer-to-be holds only the step\'s writes', async () => {
    const upper = join(work, 'upper');
    const ovWork = join(work, 'ovwork');
    mkdirSync(upper);
    mkdirSync(ovWork);
    const rootfs = { kind: 'overlay' as const, lower: [lower], upper, work: ovWork };
    const nobody = await step({ rootfs, user: 'nobody' }, 'id; echo $HOME; ls /proc/self/fd >/dev/null && echo proc');
    assert.equal(nobody.stdout, 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n/nonexistent\nproc\n', nobody.stderr);
    const rootStep = await step({ rootfs, cwd: '/app' }, 'echo built > /app/out && wget -q -T 1 -O /dev/null http://127.0.0.1:9/ ; exit 0');
    assert.equal(rootStep.exitCode, 0);
    assert.equal(readFileSync(join(upper, 'app/out'), 'utf8'), 'built\n');
    const inUpper = (p: string) => existsSync(join(upper, p));
    assert.deepEqual(['proc', 'sys', 'dev/null', 'etc/resolv.conf', 'etc/hosts', 'etc/hostname'].filter(inUpper), []);
  });
});
