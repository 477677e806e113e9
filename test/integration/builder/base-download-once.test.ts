/**
 * A base image layer pulled from a registry downloads once per build, whatever reads it: the stage laid out
 * (no layer store), the layer store unpacking it, COPY --from of the same image, and the OCI layout or tarball
 * written at the end (which also starts the download at once). Counted at a proxy in front of a real registry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startFaultProxy, type FaultProxy } from '../../env/fault-proxy.ts';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { run } from '../../env/run.ts';
import { seedBusybox } from '../registry/helpers.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

let registry: TestRegistry;
let proxy: FaultProxy;
before(async () => {
  registry = await startRegistry({ mode: 'plain' });
  await seedBusybox(registry);
  proxy = await startFaultProxy(registry.host);
});
after(async () => {
  await proxy?.stop();
  await registry?.stop();
});

const blobGets = (from: number): string[] =>
  proxy.requests.slice(from).filter((q) => q.method === 'GET' && /\/blobs\/sha256:/.test(q.path)).map((q) => q.path);

const DOCKERFILE = (host: string) => [
  `FROM ${host}/library/busybox:latest AS tools`,
  'RUN echo built > /built',
  `FROM ${host}/library/busybox:latest`,
  `COPY --from=${host}/library/busybox:latest /bin/busybox /copied-busybox`,
  'COPY --from=tools /built /built',
  'RUN test -x /copied-busybox && cat /built',
].join('\n') + '\n';

for (const store of ['off', 'fresh'] as const) {
  for (const output of ['oci', 'tar'] as const) {
    test(`every blob of the base downloads once (layer store ${store}, ${output} output)`, async (t) => {
      const ctx = context(t, { Dockerfile: DOCKERFILE(proxy.host) });
      const out = tempDir(t, 'kiln-once-');
      const from = proxy.requests.length;
      const target = output === 'oci' ? ['--oci-layout-path', path.join(out, 'oci')] : ['--tar-path', path.join(out, 'image.tar')];
      const r = await kiln(['build', '-c', ctx, '--no-push', ...target, '--insecure-registry', proxy.host],
        { KILN_LAYER_STORE: store === 'off' ? 'off' : tempDir(t, 'kiln-once-store-') });
      assert.equal(r.status, 0, r.stderr);
      const gets = blobGets(from);
      const layerGets = gets.filter((p, i) => gets.indexOf(p) !== i);
      assert.deepEqual(layerGets, [], `a blob downloaded twice: ${gets.join(', ')}`);
      assert.ok(gets.length >= 2, `the config and the layer were downloaded: ${gets.join(', ')}`);
      // The output holds the whole image: skopeo reads every blob of it.
      const ref = output === 'oci' ? `oci:${path.join(out, 'oci')}` : `docker-archive:${path.join(out, 'image.tar')}`;
      const inspected = JSON.parse((await run('skopeo', ['inspect', ref])).stdout) as { Layers: string[] };
      assert.equal(inspected.Layers.length, 4, 'busybox, two COPY layers, the RUN layer');
      await run('skopeo', ['--insecure-policy', 'copy', ref, `dir:${path.join(out, 'copy')}`]);
    });
  }
}
