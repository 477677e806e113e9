/**
 * `--custom-platform linux/amd64,linux/arm64`: one build, one OCI image index, against a real registry and a
 * real multi-platform busybox. arm64 RUN steps go through QEMU registered in binfmt_misc of a private user
 * namespace (test/env/private-binfmt.ts), never the machine's; there Kiln runs RUN in its userns mode.
 * Results are read back with skopeo (inspect --raw, copy --all) and tar.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { skopeoRegistryFlags } from '../../env/base-images.ts';
import { multiArchBusyboxLayout, MULTIARCH_REF, pushMultiArchBusybox } from '../../env/multiarch-busybox.ts';
import { privateBinfmtProblem, runWithPrivateBinfmt } from '../../env/private-binfmt.ts';
import { startRegistry, type TestRegistry } from '../../env/registry.ts';
import { unmet } from '../../env/requirements.ts';
import { run } from '../../env/run.ts';
import { KILN, context, kiln, tempDir } from './kiln-process.ts';
import { createJail, jailSkip, mountsBelow } from './jail.ts';

const skip = unmet(privateBinfmtProblem());
let reg: TestRegistry;
before(async () => {
  if (skip) return;
  reg = await startRegistry({ mode: 'plain' });
  await pushMultiArchBusybox(reg);
});
after(async () => {
  await reg?.stop();
});

const BOTH = 'linux/amd64,linux/arm64';

interface Descriptor { mediaType: string; digest: string; platform?: { os: string; architecture: string } }

function blob(layout: string, digest: string): Buffer {
  return fs.readFileSync(path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)));
}

/** Each image of the index `indexDigest` in `layout`: its config platform and files read from its last layer. */
async function imagesOf(layout: string, indexDigest: string, files: string[]): Promise<Array<{ platform: string; config: string; files: Record<string, string> }>> {
  const index = JSON.parse(blob(layout, indexDigest).toString()) as { mediaType: string; manifests: Descriptor[] };
  assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  const out = [];
  for (const d of index.manifests) {
    const manifest = JSON.parse(blob(layout, d.digest).toString()) as { config: { digest: string }; layers: { digest: string }[] };
    const config = JSON.parse(blob(layout, manifest.config.digest).toString()) as { os: string; architecture: string };
    const layer = path.join(layout, 'blobs', 'sha256', manifest.layers.at(-1)!.digest.slice('sha256:'.length));
    const read: Record<string, string> = {};
    for (const f of files) read[f] = (await run('tar', ['-xOf', layer, f])).stdout.trim();
    out.push({ platform: `${d.platform?.os}/${d.platform?.architecture}`, config: `${config.os}/${config.architecture}`, files: read });
  }
  return out;
}

function layoutTop(layout: string): Descriptor {
  return (JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] }).manifests[0]!;
}

test('RUN for linux/amd64 and linux/arm64 in one build: one index, pushed, in the layout, the archive and the digest file', { skip }, async (t) => {
  const ctx = context(t, { Dockerfile: `FROM ${reg.host}/library/busybox-multi\nARG TARGETARCH\nRUN uname -m > /arch && echo $TARGETARCH > /targetarch\n` });
  const out = tempDir(t, 'kiln-out-');
  const dest = `${reg.host}/app/multi:v1`;
  // --isolation=auto: inside a user namespace of its own, Kiln cannot mount a fresh sysfs, so it picks userns.
  const r = await runWithPrivateBinfmt(KILN, ['build', '--context', ctx, '--destination', dest, '--destination', `${reg.host}/app/multi:latest`, '--custom-platform', BOTH,
    '--oci-layout-path', path.join(out, 'oci'), '--tar-path', path.join(out, 'image.tar'), '--digest-file', path.join(out, 'digest'),
    '--image-name-with-digest-file', path.join(out, 'names')], { emulate: true });
  assert.equal(r.status, 0, r.stderr);
  const digest = fs.readFileSync(path.join(out, 'digest'), 'utf8');

  // The registry holds the index under the tag (skopeo inspect --raw), and skopeo copies all of it.
  const raw = (await run('skopeo', ['--insecure-policy', 'inspect', '--raw', ...skopeoRegistryFlags(reg, ''), `docker://${dest}`])).stdout;
  assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, digest);
  const index = JSON.parse(raw) as { mediaType: string; manifests: Descriptor[] };
  assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`), ['linux/amd64', 'linux/arm64']);
  const copied = path.join(out, 'copied');
  await run('skopeo', ['--insecure-policy', 'copy', '--all', ...skopeoRegistryFlags(reg, 'src'), `docker://${dest}`, `oci:${copied}:v1`]);
  assert.equal(layoutTop(copied).digest, digest);
  const images = await imagesOf(copied, digest, ['arch', 'targetarch']);
  assert.deepEqual(images, [
    { platform: 'linux/amd64', config: 'linux/amd64', files: { arch: 'x86_64', targetarch: 'amd64' } },
    { platform: 'linux/arm64', config: 'linux/arm64', files: { arch: 'aarch64', targetarch: 'arm64' } },
  ]);
  assert.equal(fs.readFileSync(path.join(out, 'names'), 'utf8'), `${reg.host}/app/multi@${digest}\n`.repeat(2));
  const latest = (await run('skopeo', ['--insecure-policy', 'inspect', '--raw', ...skopeoRegistryFlags(reg, ''), `docker://${reg.host}/app/multi:latest`])).stdout;
  assert.equal(latest, raw, 'both tags name the index');

  // --oci-layout-path: index.json names the index; the layout holds both images.
  const layout = path.join(out, 'oci');
  assert.deepEqual({ mediaType: layoutTop(layout).mediaType, digest: layoutTop(layout).digest }, { mediaType: 'application/vnd.oci.image.index.v1+json', digest });
  assert.deepEqual(await imagesOf(layout, digest, ['arch']), images.map((i) => ({ ...i, files: { arch: i.files.arch } })));
  // --tar-path: the archive's index.json names the index, its manifest.json lists both images.
  const archive = path.join(out, 'image.tar');
  assert.equal((JSON.parse((await run('tar', ['-xOf', archive, 'index.json'])).stdout) as { manifests: Descriptor[] }).manifests[0]!.digest, digest);
  assert.equal((JSON.parse((await run('tar', ['-xOf', archive, 'manifest.json'])).stdout) as unknown[]).length, 2);
  await run('tar', ['-xf', archive, '-C', fs.mkdtempSync(path.join(out, 'x-'))]);
  assert.match(r.stderr, /building for platform linux\/arm64 \(2\/2\)/);
  assert.equal(r.stderr.match(/RUN isolation: userns \(auto\)/g)?.length, 1, 'the isolation probed and logged once per build');
});

test('cross-compiling: the FROM --platform=$BUILDPLATFORM stage runs natively for every target, no emulator needed', { skip }, async (t) => {
  const ctx = context(t, {
    Dockerfile: [
      `FROM --platform=$BUILDPLATFORM ${reg.host}/library/busybox-multi AS build`,
      'ARG TARGETARCH', 'ARG BUILDARCH',
      'RUN uname -m > /build-arch && echo "$BUILDARCH for $TARGETARCH" > /for',
      `FROM ${reg.host}/library/busybox-multi`,
      'COPY --from=build /build-arch /for /',
      '',
    ].join('\n'),
  });
  const out = tempDir(t, 'kiln-out-');
  // No emulator registered: an emulated step would fail the build.
  const r = await runWithPrivateBinfmt(KILN, ['build', '--context', ctx, '--no-push', '--custom-platform', BOTH, '--isolation=userns',
    '--oci-layout-path', path.join(out, 'oci'), '--digest-file', path.join(out, 'digest')], { emulate: false });
  assert.equal(r.status, 0, r.stderr);
  const digest = fs.readFileSync(path.join(out, 'digest'), 'utf8');
  assert.deepEqual(await imagesOf(path.join(out, 'oci'), digest, ['build-arch', 'for']), [
    { platform: 'linux/amd64', config: 'linux/amd64', files: { 'build-arch': 'x86_64', for: 'amd64 for amd64' } },
    { platform: 'linux/arm64', config: 'linux/arm64', files: { 'build-arch': 'x86_64', for: 'amd64 for arm64' } },
  ]);
});

test('without an emulator for arm64 the build fails before any step, names the fix, and pushes nothing', { skip }, async (t) => {
  const ctx = context(t, { Dockerfile: `FROM ${reg.host}/library/busybox-multi\nRUN uname -m > /arch\n` });
  const r = await runWithPrivateBinfmt(KILN, ['build', '--context', ctx, '--destination', `${reg.host}/app/never:v1`, '--custom-platform', BOTH, '--isolation=userns'], { emulate: false });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /error: cannot run RUN steps for linux\/arm64 on this linux\/amd64 host: no emulator is registered with binfmt_misc for arm64 executables/);
  assert.match(r.stderr, /hint: .*binfmt --install arm64.*qemu-user-static/);
  assert.doesNotMatch(r.stderr, /STEP 1\//, 'no step started');
  await assert.rejects(run('skopeo', ['--insecure-policy', 'inspect', '--raw', ...skopeoRegistryFlags(reg, ''), `docker://${reg.host}/app/never:v1`]));
});

test('a base without a requested platform names the platforms it has; one platform still gives a plain image', { skip }, async (t) => {
  const ctx = context(t, { Dockerfile: `FROM ${reg.host}/library/busybox-multi\nLABEL multi=yes\n` });
  const out = tempDir(t, 'kiln-out-');
  const bad = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'bad'), '--platform', 'linux/amd64,linux/s390x']);
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /has no image for platform linux\/s390x/);
  assert.match(bad.stderr, /available: linux\/amd64, linux\/arm64/);
  assert.equal(fs.existsSync(path.join(out, 'bad')), false, 'nothing written');

  const one = await kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, 'one'), '--custom-platform', 'linux/arm64']);
  assert.equal(one.status, 0, one.stderr);
  const top = layoutTop(path.join(out, 'one'));
  assert.equal(top.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const manifest = JSON.parse(blob(path.join(out, 'one'), top.digest).toString()) as { config: { digest: string } };
  assert.equal((JSON.parse(blob(path.join(out, 'one'), manifest.config.digest).toString()) as { architecture: string }).architecture, 'arm64');
});

test('the layer cache serves each platform its own layers: a rebuild hits once per platform and gives the same index', { skip }, async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM scratch\nARG TARGETARCH\nCOPY a.txt /a-$TARGETARCH\n', 'a.txt': 'a\n' });
  const out = tempDir(t, 'kiln-out-');
  const build = (n: number) => kiln(['build', '--context', ctx, '--no-push', '--oci-layout-path', path.join(out, `oci${n}`), '--digest-file', path.join(out, `digest${n}`),
    '--reproducible', '--cache=true', '--cache-repo', `oci:${path.join(out, 'cache')}`, '--cache-copy-layers', '--custom-platform', BOTH]);
  const first = await build(1);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stderr.match(/CACHED/g)?.length ?? 0, 0);
  const second = await build(2);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stderr.match(/CACHED/g)?.length, 2, 'the COPY of each platform');
  assert.equal(fs.readFileSync(path.join(out, 'digest2'), 'utf8'), fs.readFileSync(path.join(out, 'digest1'), 'utf8'));
  const files = (await imagesOf(path.join(out, 'oci2'), fs.readFileSync(path.join(out, 'digest2'), 'utf8'), [])).map((i) => i.config);
  assert.deepEqual(files, ['linux/amd64', 'linux/arm64']);
});

test('in place (--isolation=none, in the jail): each platform replaces / in turn and the index matches a private-dir build', { skip: skip || jailSkip }, async (t) => {
  const files = {
    Dockerfile: 'FROM --platform=$BUILDPLATFORM busybox-multi AS build\nARG TARGETARCH\nRUN uname -m > /build-arch && echo $TARGETARCH > /for\n' +
      'FROM busybox-multi\nCOPY --from=build /build-arch /for /\n',
  };
  const ctx = context(t, files);
  const out = tempDir(t, 'kiln-out-');
  const layout = await multiArchBusyboxLayout();
  const common = ['--no-push', '--reproducible', '--custom-platform', BOTH];
  const ref = await kiln(['build', '-c', ctx, ...common, '--oci-layout-path', path.join(out, 'ref'), '--digest-file', path.join(out, 'ref-digest'),
    '--base-image-source', `busybox-multi=oci:${layout}:${MULTIARCH_REF}`]);
  assert.equal(ref.status, 0, ref.stderr);
  const jail = createJail();
  t.after(() => {
    jail.destroy();
    assert.deepEqual(mountsBelow(jail.root), []);
  });
  const r = await jail.kiln(['build', '-c', '/ctx', ...common, '--isolation=none', '--oci-layout-path', '/out/in-place', '--digest-file', '/out/digest',
    '--base-image-source', `busybox-multi=oci:/images/multi:${MULTIARCH_REF}`], {
    binds: [{ source: ctx, target: '/ctx', readOnly: true }, { source: out, target: '/out' }, { source: layout, target: '/images/multi', readOnly: true }],
    env: { KILN_IN_PLACE_CONFIRMED: '1' },
  });
  assert.equal(r.status, 0, r.stderr);
  const digest = fs.readFileSync(path.join(out, 'digest'), 'utf8');
  assert.deepEqual(await imagesOf(path.join(out, 'in-place'), digest, ['build-arch', 'for']), [
    { platform: 'linux/amd64', config: 'linux/amd64', files: { 'build-arch': 'x86_64', for: 'amd64' } },
    { platform: 'linux/arm64', config: 'linux/arm64', files: { 'build-arch': 'x86_64', for: 'arm64' } },
  ]);
  assert.equal(digest, fs.readFileSync(path.join(out, 'ref-digest'), 'utf8'), 'the same index as a private-dir build');
});
