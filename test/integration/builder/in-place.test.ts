/**
 * In-place builds (`--isolation=none`, kaniko's model: the build's rootfs is `/`). Run ONLY inside a jail
 * (./jail.ts): a private mount + pid namespace chrooted into a scratch directory. Outside a jail, Kiln is
 * only ever run here to check that the guard refuses, with every mount read-only as a second fence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { baseImageLayout } from '../../env/base-images.ts';
import { summarizeLayout } from '../../conformance/summarize.ts';
import { KILN, context, kiln, tempDir } from './kiln-process.ts';
import { createJail, jailSkip, mountsBelow, type Jail, type JailBind } from './jail.ts';
import { unlessRoot } from '../../env/requirements.ts';

const dockerfile = [
  'FROM busybox AS build',
  'RUN echo from-build > /artifact && mkdir -p /opt/tool && echo t > /opt/tool/bin',
  'FROM busybox',
  'COPY hello.txt /app/hello.txt',
  'COPY tree/ /app/tree/',
  'COPY --from=build /artifact /opt/tool/ /from-build/',
  'RUN echo built > /app/built && mkdir -p /var/lib/thing && echo x > /var/lib/thing/f && chmod 600 /app/hello.txt',
  'RUN rm /bin/ls && rm -r /app/tree/sub && ln -s /app/built /app/link',
  'ENV K=v',
  '',
].join('\n');

const files = { Dockerfile: dockerfile, 'hello.txt': 'hello\n', 'tree/a': 'a\n', 'tree/sub/b': 'b\n' };

/** A jail torn down after the test, even when it fails; no mount may be left behind. */
function jailFor(t: { after(fn: () => void): void }): Jail {
  const jail = createJail();
  t.after(() => {
    jail.destroy();
    assert.deepEqual(mountsBelow(jail.root), []);
  });
  return jail;
}

async function busyboxBind(): Promise<JailBind> {
  return { source: await baseImageLayout('busybox'), target: '/images/busybox', readOnly: true };
}

const base = ['--no-push', '--base-image-source', 'busybox=oci:/images/busybox'];
const confirmed = { KILN_IN_PLACE_CONFIRMED: '1' };

test('in place in a jail gives the same image as the default isolation outside (multi-stage, COPY, RUN, deletions)', { skip: jailSkip }, async (t) => {
  const ctx = context(t, files);
  const out = tempDir(t, 'kiln-inplace-out-');
  const reference = path.join(out, 'reference');
  const ref = await kiln(['build', '-c', ctx, '--no-push', '--oci-layout-path', reference,
    '--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`]);
  assert.equal(ref.status, 0, ref.stderr);

  const jail = jailFor(t);
  const r = await jail.kiln(['build', '-c', '/ctx', ...base, '--oci-layout-path', '/out/in-place', '--isolation=none'], {
    binds: [{ source: ctx, target: '/ctx', readOnly: true }, { source: out, target: '/out' }, await busyboxBind()],
    env: confirmed,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /building in place on \//);
  const inPlace = await summarizeLayout(path.join(out, 'in-place'));
  assert.equal(inPlace.files?.['/app/built']?.size, 6);
  assert.equal(inPlace.files?.['/from-build/artifact']?.type, 'file');
  assert.equal(inPlace.files?.['/bin/ls'], undefined);
  assert.deepEqual(inPlace, await summarizeLayout(reference));
  // The build's files are on the jail's /, as kaniko leaves them without --cleanup.
  assert.equal(fs.readFileSync(path.join(jail.root, 'app/built'), 'utf8'), 'built\n');
  assert.equal(fs.existsSync(path.join(jail.root, 'artifact')), false, "the first stage's files left / for the second");
});

test('ignored paths (a bind mount, --ignore-path) are neither in the image nor deleted', { skip: jailSkip }, async (t) => {
  const ctx = context(t, {
    Dockerfile: 'FROM busybox\nRUN ls /workspace/kept /keep/kept && echo new > /workspace/new && echo new > /keep/new && echo ok > /ok\n',
  });
  const out = tempDir(t, 'kiln-inplace-out-');
  const workspace = tempDir(t, 'kiln-inplace-ws-');
  fs.writeFileSync(path.join(workspace, 'kept'), 'ci workspace\n');
  const jail = jailFor(t);
  fs.mkdirSync(path.join(jail.root, 'keep'));
  fs.writeFileSync(path.join(jail.root, 'keep/kept'), 'plain dir\n');
  const r = await jail.kiln(['build', '-c', '/ctx', ...base, '--oci-layout-path', '/out/oci', '--isolation=none', '--ignore-path=/keep'], {
    binds: [{ source: ctx, target: '/ctx', readOnly: true }, { source: out, target: '/out' }, { source: workspace, target: '/workspace' }, await busyboxBind()],
    env: confirmed,
  });
  assert.equal(r.status, 0, r.stderr);
  const summary = await summarizeLayout(path.join(out, 'oci'));
  assert.equal(summary.files?.['/ok']?.type, 'file');
  for (const p of Object.keys(summary.files ?? {})) assert.ok(!/^\/(workspace|keep)(\/|$)/.test(p), `${p} is ignored`);
  assert.equal(fs.readFileSync(path.join(workspace, 'kept'), 'utf8'), 'ci workspace\n');
  assert.equal(fs.readFileSync(path.join(jail.root, 'keep/kept'), 'utf8'), 'plain dir\n');
});

/** A jail with its skeleton laid out, the test's files bound in: "before" a build is the jail itself. */
async function laidOutJail(t: { after(fn: () => void): void }): Promise<{ jail: Jail; binds: JailBind[]; out: string }> {
  const ctx = context(t, files);
  const out = tempDir(t, 'kiln-inplace-out-');
  const jail = jailFor(t);
  const binds = [{ source: ctx, target: '/ctx', readOnly: true }, { source: out, target: '/out' }, await busyboxBind()];
  // A first run lays out the jail's skeleton (it is refused: no confirmation).
  const refused = await jail.kiln(['build', '-c', '/ctx', ...base, '--oci-layout-path', '/out/oci', '--isolation=none'], { binds });
  assert.equal(refused.status, 2, refused.stderr);
  return { jail, binds, out };
}

test("--cleanup leaves the jail's / as it was", { skip: jailSkip }, async (t) => {
  const { jail, binds, out } = await laidOutJail(t);
  const before = jail.listing();
  const r = await jail.kiln(['build', '-c', '/ctx', ...base, '--oci-layout-path', '/out/oci', '--isolation=none', '--cleanup'], { binds, env: confirmed });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(out, 'oci/index.json')), 'outputs are written before the cleanup and kept');
  assert.deepEqual(jail.listing(), before);
});

test('--single-snapshot gives one layer for the stage, with the same files', { skip: jailSkip }, async (t) => {
  const ctx = context(t, files);
  const out = tempDir(t, 'kiln-inplace-out-');
  const jail = jailFor(t);
  const binds = [{ source: ctx, target: '/ctx', readOnly: true }, { source: out, target: '/out' }, await busyboxBind()];
  const layered = await jail.kiln(['build', '-c', '/ctx', ...base, '--oci-layout-path', '/out/layered', '--isolation=none'], { binds, env: confirmed });
  assert.equal(layered.status, 0, layered.stderr);
  const single = await jail.kiln(['build', '-c', '/ctx', ...base, '--oci-layout-path', '/out/single', '--isolation=none',
    '--single-snapshot', '--snapshot-mode=full'], { binds, env: confirmed });
  assert.equal(single.status, 0, single.stderr);
  const a = await summarizeLayout(path.join(out, 'layered'));
  const b = await summarizeLayout(path.join(out, 'single'));
  const baseLayers = (await summarizeLayout(await baseImageLayout('busybox'))).layers_total!;
  assert.equal(b.layers_total, baseLayers + 1);
  assert.equal(a.layers_total, baseLayers + 5);
  assert.deepEqual(b.files, a.files);
  const layerEntries = b.history!.filter((h) => !h.empty_layer).slice(-1);
  assert.match(layerEntries[0].created_by, /^RUN .*rm \/bin\/ls/, 'the last filesystem instruction carries the layer');
});

test('outside a jail the guard refuses before touching anything (every mount read-only as a second fence)', { skip: unlessRoot('mount namespace') }, (t) => {
  const ctx = context(t, { Dockerfile: 'FROM busybox\nRUN true\n' });
  const scratch = tempDir(t, 'kiln-guard-');
  const sentinel = path.join(scratch, 'sentinel');
  fs.writeFileSync(sentinel, 'still here');
  fs.mkdirSync(path.join(scratch, 'work'));
  const script = [
    'set -eu',
    'mount --make-rprivate /',
    // Read-only in this namespace only: even a guard bug could delete nothing.
    "for m in $(awk '{print $5}' /proc/self/mountinfo | sort -r); do mount -o remount,bind,ro \"$m\" 2>/dev/null || true; done",
    'mount -t tmpfs tmpfs "$W"',
    'exec "$@"',
  ].join('\n');
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', W: path.join(scratch, 'work'), KILN_WORK_DIR: path.join(scratch, 'work'), TMPDIR: path.join(scratch, 'work') };
  delete env.KILN_IN_PLACE_CONFIRMED;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'guard',
    KILN, 'build', '-c', ctx, '--no-push', '--tar-path', path.join(scratch, 'work/out.tar'), '--isolation=none'], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--isolation=none builds on \/ and deletes its files; refusing/);
  assert.equal(fs.readFileSync(sentinel, 'utf8'), 'still here');
  assert.deepEqual(mountsBelow(scratch), []);
});

test('in place, RUN --mount (secret, cache, bind, tmpfs) and a #! heredoc are emulated: same image as outside', { skip: jailSkip }, async (t) => {
  const mounts = [
    'FROM busybox AS files',
    'RUN mkdir /data && echo from-stage > /data/x',
    'FROM busybox',
    'RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /secret-size',
    'RUN --mount=type=cache,target=/var/cache/app sh -c "echo x >> /var/cache/app/log; wc -l < /var/cache/app/log > /count"',
    'RUN --mount=type=bind,from=files,source=/data,target=/mnt cp /mnt/x /x',
    'RUN --mount=type=tmpfs,target=/scratch sh -c "echo a > /scratch/a && ls /scratch > /listing"',
    'RUN <<EOF',
    '#!/bin/sh',
    'echo "script $0" > /script-out',
    'EOF',
    '',
  ].join('\n');
  const ctx = context(t, { Dockerfile: mounts });
  const out = tempDir(t, 'kiln-inplace-out-');
  fs.writeFileSync(path.join(out, 'token'), 's3cr3t');
  const ref = await kiln(['build', '-c', ctx, '--no-push', '--oci-layout-path', path.join(out, 'reference'), '--secret', `id=tok,src=${path.join(out, 'token')}`,
    '--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`], { KILN_CACHE_HOME: path.join(out, 'ref-cache') });
  assert.equal(ref.status, 0, ref.stderr);

  const jail = jailFor(t);
  const r = await jail.kiln(['build', '-c', '/ctx', ...base, '--oci-layout-path', '/out/in-place', '--isolation=none', '--secret', 'id=tok,src=/out/token'], {
    binds: [{ source: ctx, target: '/ctx', readOnly: true }, { source: out, target: '/out' }, await busyboxBind()],
    env: { ...confirmed, KILN_CACHE_HOME: '/out/jail-cache' },
  });
  assert.equal(r.status, 0, r.stderr);
  const inPlace = await summarizeLayout(path.join(out, 'in-place'));
  assert.equal(inPlace.files?.['/script-out']?.type, 'file');
  assert.equal(inPlace.files?.['/run/secrets/tok'], undefined);
  assert.deepEqual(inPlace, await summarizeLayout(path.join(out, 'reference')));
  assert.equal(fs.readFileSync(path.join(jail.root, 'count'), 'utf8').trim(), '1');
  assert.equal(fs.readFileSync(path.join(jail.root, 'listing'), 'utf8'), 'a\n');
  assert.equal(fs.existsSync(path.join(jail.root, 'dev/pipes')), false);
});

test('in place without getfattr/setfattr: fails naming them before / is emptied', { skip: jailSkip }, async (t) => {
  const { jail, binds, out } = await laidOutJail(t);
  for (const tool of ['getfattr', 'setfattr']) fs.rmSync(path.join(jail.root, 'kiln-support/bin', tool));
  const before = jail.listing();
  const r = await jail.kiln(['build', '-c', '/ctx', ...base, '--oci-layout-path', '/out/oci', '--isolation=none'], { binds, env: confirmed });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /error: getfattr, setfattr not found on PATH/);
  assert.deepEqual(jail.listing(), before, 'nothing of / was touched');
  assert.equal(fs.existsSync(path.join(out, 'oci')), false);
});
