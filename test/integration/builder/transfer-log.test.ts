/**
 * What a CI log shows of transfers: the base image's resolution with its time, one line per pulled and pushed
 * blob with size and time, and each push retry with its reason (a warning, visible at the default level).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { firstN, startFaultProxy } from '../../env/fault-proxy.ts';
import { seedBusybox } from '../registry/helpers.ts';
import { context, kiln } from './kiln-process.ts';

let registry: TestRegistry;
before(async () => {
  registry = await startRegistry({ mode: 'plain' });
  await seedBusybox(registry);
});
after(async () => {
  await registry?.stop();
});

test('pull and push lines per blob with their times; a push retry is logged with its reason', async (t) => {
  const flaky = await startFaultProxy(registry.host, firstN(1, (q) => q.path.includes('/blobs/uploads/'), { kind: 'status', status: 503 }));
  t.after(() => flaky.stop());
  const ctx = context(t, { Dockerfile: `FROM ${registry.host}/library/busybox\nCOPY a.txt /a.txt\n`, 'a.txt': 'a\n' });
  const r = await kiln(['build', '--context', ctx, '--destination', `${flaky.host}/progress/app:1`, '--insecure', '--insecure-pull',
    '--skip-push-permission-check', '--push-retry=2']);
  assert.equal(r.status, 0, r.stderr);
  const host = registry.host.replaceAll('.', '\\.');
  assert.match(r.stderr, new RegExp(`resolved image ${host}/library/busybox to sha256:[0-9a-f]{64} \\(1 layers, [0-9.]+ MiB\\) in [0-9.]+s`));
  assert.match(r.stderr, new RegExp(`pulled blob [0-9a-f]{12} \\(${host}/library/busybox\\): [0-9.]+ MiB in [0-9.]+s`));
  assert.match(r.stderr, /level=warn msg="uploading sha256:[0-9a-f]{64} to .*progress\/app failed \(.*503.*\); retrying/);
  assert.match(r.stderr, /pushed blob [0-9a-f]{12} \(.*progress\/app\): .* in [0-9.]+s/);
});
