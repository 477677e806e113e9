/**
 * The layer store end to end from the CLI: builds with the store (RUN on stacked layer dirs) give the same
 * image, digest for digest, as builds without it (RUN on one laid-out rootfs), on a base with whiteouts and an
 * opaque directory, across stages, and when a WORKDIR or COPY lays the stage out half way. The store keeps the
 * base's layers for the next build.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { baseImageLayout } from '../../env/base-images.ts';
import { context, kiln, tempDir } from './kiln-process.ts';

const skip = process.geteuid?.() === 0 ? false : 'needs root (namespace isolation with overlay)';

/** busybox plus a layer that whites out a file and a directory and makes /opq opaque over a layer that filled it. */
function baseWithWhiteouts(t: TestContext, busybox: string): string {
  const dir = tempDir(t, 'kiln-store-base-');
  const layout = path.join(dir, 'oci');
  execFileSync('cp', ['-a', busybox, layout]);
  const add = (name: string, script: string): void => {
    const src = path.join(dir, name);
    fs.mkdirSync(src);
    execFileSync('sh', ['-ec', script], { cwd: src });
    execFileSync('tar', ['-C', src, '--numeric-owner', '-cf', path.join(dir, `${name}.tar`), '.']);
    execFileSync('umoci', ['raw', 'add-layer', '--image', `${layout}:latest`, path.join(dir, `${name}.tar`)], { stdio: 'pipe' });
  };
  add('l1', 'mkdir -p opq gonedir etc && echo 1 > opq/old && echo g > gonedir/x && echo g > gone && echo keep > etc/keep');
  add('l2', 'mkdir -p opq && touch opq/.wh..wh..opq .wh.gone .wh.gonedir && echo 2 > opq/new');
  return layout;
}

async function build(t: TestContext, dockerfile: string, base: string, store: string): Promise<{ digest: string; stderr: string; layout: string }> {
  const ctx = context(t, { Dockerfile: dockerfile, 'ctx.txt': 'from context\n', 'tree/x/inner': 'inner\n' });
  const layout = path.join(tempDir(t, 'kiln-store-out-'), 'oci');
  const r = await kiln(['build', '-c', ctx, '--no-push', '--reproducible', '--oci-layout-path', layout, '--isolation=namespace', '--verbosity=debug',
    '--base-image-source', `base=oci:${base}`], { KILN_LAYER_STORE: store });
  assert.equal(r.status, 0, r.stderr);
  const digest = /built image (sha256:[0-9a-f]{64})/.exec(r.stderr)?.[1];
  assert.ok(digest, r.stderr);
  return { digest, stderr: r.stderr, layout };
}

function fileIn(t: TestContext, layout: string, file: string): string {
  const bundle = path.join(tempDir(t, 'kiln-store-bundle-'), 'b');
  execFileSync('umoci', ['unpack', '--image', layout, bundle], { stdio: 'pipe' });
  return fs.readFileSync(path.join(bundle, 'rootfs', file), 'utf8');
}

const DOCKERFILES: Record<string, string> = {
  'RUN steps on a base with whiteouts and an opaque dir': [
    'FROM base',
    'RUN ls /opq > /seen && ls / | grep -c gone >> /seen || true',
    'RUN mkdir -p /a/b && echo 1 > /a/b/f && ln /a/b/f /a/h && rm /etc/keep && echo x >> /etc/passwd',
    'RUN rm -rf /a/b /opq/new && echo 2 > /a/g && rm -rf /usr && ln -s /x /a/s',
    'RUN rm -rf /a && mkdir /a && echo new > /a/n && ls -a /opq /a >> /seen',
  ].join('\n'),
  'a WORKDIR and a COPY lay the stage out half way': [
    'FROM base',
    'RUN echo one > /one && rm /bin/vi',
    'WORKDIR /w',
    'RUN echo two > two && ls / > /root-list',
    'COPY ctx.txt /w/',
    'RUN cat /w/ctx.txt /one > /w/both',
  ].join('\n'),
  'stages built from stages, COPY --from': [
    'FROM base AS a',
    'RUN echo a > /a && rm -rf /opq',
    'FROM a AS b',
    'RUN echo b > /b && cat /a >> /b',
    'FROM base',
    'COPY --from=b /b /b',
    'RUN cat /b > /c',
  ].join('\n'),
  'COPY over whiteouts: directories deleted by a RUN or the base made again': [
    'FROM base',
    'RUN mkdir /x && echo old > /x/old',
    'RUN rm -rf /x',
    'COPY tree/ /',
    'COPY ctx.txt /gonedir/',
    'RUN ls -a /x /gonedir > /seen',
  ].join('\n'),
};

for (const [name, dockerfile] of Object.entries(DOCKERFILES)) {
  test(`the layer store gives the same image as laid-out rootfs builds: ${name}`, { skip }, async (t) => {
    const base = baseWithWhiteouts(t, await baseImageLayout('busybox'));
    const store = tempDir(t, 'kiln-store-');
    const off = await build(t, dockerfile, base, 'off');
    const cold = await build(t, dockerfile, base, store);
    const warm = await build(t, dockerfile, base, store);
    assert.equal(cold.digest, off.digest);
    assert.equal(warm.digest, off.digest);
    const stored = fs.readdirSync(store).filter((n) => /^[0-9a-f]{64}$/.test(n));
    assert.ok(stored.length >= 3, `base layers kept in the store: ${stored.join(' ')}`);
    if (name.startsWith('RUN steps')) {
      assert.equal(fileIn(t, off.layout, 'seen'), 'new\n0\n/a:\n.\n..\nn\n\n/opq:\n.\n..\n');
    }
    if (name.startsWith('COPY over whiteouts')) assert.equal(fileIn(t, off.layout, 'seen'), '/gonedir:\n.\n..\nctx.txt\n\n/x:\n.\n..\ninner\n');
    // With the store, COPY and WORKDIR write through an overlay of the stage's layer dirs: no stage is laid out.
    assert.doesNotMatch(warm.stderr, /laying out/);
    assert.match(off.stderr, /laying out/);
    // One view holder process for all of a build's views (started ahead, beside the base pull); none without the store.
    const holders = (stderr: string): number => stderr.match(/overlay view holder started/g)?.length ?? 0;
    const views = /^(COPY|WORKDIR)/m.test(dockerfile) ? 1 : 0;
    assert.deepEqual([holders(off.stderr), holders(cold.stderr), holders(warm.stderr)], [0, views, views]);
  });
}

test('a layer overlayfs cannot take (opaque root) makes the stage fall back to one directory, same image', { skip }, async (t) => {
  const dir = tempDir(t, 'kiln-store-base-');
  const layout = path.join(dir, 'oci');
  execFileSync('cp', ['-a', await baseImageLayout('busybox'), layout]);
  const src = path.join(dir, 'l1');
  fs.mkdirSync(path.join(src, 'bin'), { recursive: true });
  // Hides everything below: only what this layer holds remains (busybox itself, kept under its name).
  fs.writeFileSync(path.join(src, '.wh..wh..opq'), '');
  const bundle = path.join(dir, 'b');
  execFileSync('umoci', ['unpack', '--image', layout, bundle], { stdio: 'pipe' });
  execFileSync('cp', ['-a', path.join(bundle, 'rootfs/bin/busybox'), path.join(src, 'bin/busybox')]);
  execFileSync('sh', ['-ec', 'for a in sh ls echo; do ln -s busybox bin/$a; done'], { cwd: src });
  execFileSync('tar', ['-C', src, '--numeric-owner', '-cf', path.join(dir, 'l1.tar'), '.']);
  execFileSync('umoci', ['raw', 'add-layer', '--image', `${layout}:latest`, path.join(dir, 'l1.tar')], { stdio: 'pipe' });
  const dockerfile = 'FROM base\nRUN ls / > /list && ls /bin >> /list\n';
  const store = tempDir(t, 'kiln-store-');
  const off = await build(t, dockerfile, layout, 'off');
  const on = await build(t, dockerfile, layout, store);
  assert.equal(on.digest, off.digest);
  const opaqueLayer = createHash('sha256').update(fs.readFileSync(path.join(dir, 'l1.tar'))).digest('hex');
  assert.ok(!fs.readdirSync(store).some((n) => n.includes(opaqueLayer)), 'the opaque-root layer is not in the store, nor left half unpacked');
  // Only this layer's files and the sandbox's mount points: nothing of the hidden busybox layer (no /usr).
  assert.equal(fileIn(t, on.layout, 'list'), 'bin\ndev\netc\nlist\nproc\nsys\nbusybox\necho\nls\nsh\n');
});

test('with the store, the build leaves no lease behind and the next build finds the base unpacked', { skip }, async (t) => {
  const base = await baseImageLayout('busybox');
  const store = tempDir(t, 'kiln-store-');
  await build(t, 'FROM base\nRUN echo 1 > /x\n', base, store);
  assert.deepEqual(fs.readdirSync(path.join(store, 'leases')), []);
  const layerDirs = fs.readdirSync(store).filter((n) => /^[0-9a-f]{64}$/.test(n));
  const mtimes = layerDirs.map((n) => fs.statSync(path.join(store, n, 'fs')).mtimeMs);
  await build(t, 'FROM base\nRUN echo 2 > /x\n', base, store);
  assert.deepEqual(layerDirs.map((n) => fs.statSync(path.join(store, n, 'fs')).mtimeMs), mtimes, 'not unpacked again');
});
