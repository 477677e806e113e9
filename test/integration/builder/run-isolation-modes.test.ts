/**
 * One Dockerfile using every RUN --mount type, secrets from a file and from the environment, a `#!` heredoc,
 * deletions and a replaced directory, built from the CLI in each isolation mode as a pod would get it:
 * namespace (full root), userns (CAP_SYS_ADMIN dropped: a user namespace with overlay snapshots; and with
 * the work dir on an overlayfs, as in a container's root filesystem, where it walks instead) and chroot (also
 * unshare(2) refused by seccomp, as docker's default profile does). Every mode must pick itself under
 * --isolation=auto and give the same files; a cache mount persists across builds in each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { baseImageLayout } from '../../env/base-images.ts';
import { KILN, context, tempDir } from './kiln-process.ts';

const noUserns = fileURLToPath(new URL('../sandbox/fixtures/no-userns.pl', import.meta.url));
const hasCapsh = spawnSync('capsh', ['--help'], { stdio: 'ignore' }).status === 0;
const skip = process.getuid?.() !== 0 ? 'needs root' : hasCapsh ? false : 'capsh (libcap2-bin) missing';

const dropSysAdmin = ['capsh', '--drop=cap_sys_admin', '--', '-c', 'exec "$0" "$@"'];
/** The work dir on an overlayfs (as in a container's root filesystem), where no overlay can take its upper dir. */
const onOverlay = (dir: string) => ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c',
  `mkdir -p ${dir}/l ${dir}/u ${dir}/w ${dir}/m && mount -t overlay kiln-test -o lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w ${dir}/m`
  + ` && KILN_WORK_DIR=${dir}/m exec "$0" "$@"`];

const wrappers: Record<string, (scratch: string) => string[]> = {
  namespace: () => [],
  userns: () => dropSysAdmin,
  'userns (work dir on an overlay: walk snapshots)': (scratch) => [...onOverlay(scratch), ...dropSysAdmin],
  chroot: () => ['perl', noUserns, ...dropSysAdmin],
};

const dockerfile = [
  'FROM busybox AS files',
  'RUN mkdir /data && echo from-stage > /data/x',
  'FROM busybox',
  'RUN --mount=type=secret,id=tok cat /run/secrets/tok | wc -c > /secret-size',
  'RUN --mount=type=secret,id=envtok,target=/etc/tok,mode=0440,uid=1000 stat -c "%a %u" /etc/tok > /envsecret-stat && wc -c < /etc/tok > /envsecret-size',
  'RUN --mount=type=secret,id=envtok,env=TOK sh -c \'echo ${#TOK} > /envsecret-env\'',
  'RUN --mount=type=cache,target=/var/cache/app sh -c "echo x >> /var/cache/app/log; wc -l < /var/cache/app/log > /count"',
  'RUN --mount=type=bind,from=files,source=/data,target=/mnt cp /mnt/x /x',
  'RUN --mount=type=bind,target=/ctx cat /ctx/hello > /from-ctx',
  'RUN --mount=type=bind,target=/ctx,rw sh -c "echo w > /ctx/written && rm /ctx/hello && cat /ctx/written > /rw-out"',
  'RUN mkdir -p /keep && echo kept > /keep/file',
  'RUN --mount=type=tmpfs,target=/keep sh -c "echo a > /keep/a && ls /keep > /listing"',
  'RUN <<EOF',
  '#!/bin/sh',
  'echo "script $0" > /script-out',
  'EOF',
  'RUN rm /etc/group && rm -rf /usr/sbin && mkdir /usr/sbin && echo n > /usr/sbin/new && chown 1000:1000 /usr/sbin/new',
  '',
].join('\n');

function build(wrapper: string[], args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string }> {
  const [command, ...rest] = [...wrapper, KILN, ...args];
  return new Promise((resolve) => {
    const child = spawn(command as string, rest, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** path → type, mode, owner and content (files) of an unpacked rootfs. */
function describeTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const child = path.join(rel, name);
      const st = fs.lstatSync(path.join(root, child));
      const what = st.isFile() ? `file ${fs.readFileSync(path.join(root, child), 'utf8')}` : st.isSymbolicLink() ? `link ${fs.readlinkSync(path.join(root, child))}` : st.isDirectory() ? 'dir' : 'other';
      out.set(child, `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) walk(child);
    }
  };
  walk('');
  return out;
}

const trees = new Map<string, Map<string, string>>();

for (const mode of Object.keys(wrappers)) {
  test(`${mode}: auto picks it, every RUN --mount type and a #! heredoc work, the cache persists`, { skip }, async (t) => {
    const out = tempDir(t, 'kiln-out-');
    const ctx = context(t, { Dockerfile: dockerfile, hello: 'hello from the context\n' });
    const secret = path.join(out, 'token');
    fs.writeFileSync(secret, 's3cr3t');
    const env = { KILN_CACHE_HOME: tempDir(t, 'kiln-cache-'), ENV_TOKEN: 'env-secret-value' };
    const base = ['--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`];
    const wrapper = (wrappers[mode] as (scratch: string) => string[])(tempDir(t, 'kiln-scratch-'));
    const isolation = mode.split(' ')[0] as string;
    const snapshots = isolation === 'chroot' ? 'walk"' : mode.includes('walk') ? 'walk \\(the work dir\'s filesystem' : 'overlay"';
    let rootfs = '';
    for (const run of [1, 2]) {
      const layout = path.join(out, `oci-${run}`);
      const r = await build(wrapper, ['build', '-c', ctx, '--no-push', '--oci-layout-path', layout,
        '--secret', `id=tok,src=${secret}`, '--secret', 'id=envtok,env=ENV_TOKEN', ...base], env);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`RUN isolation: ${isolation} \\(auto\\), snapshots: ${snapshots}`));
      assert.equal(r.stderr.match(/RUN isolation:/g)?.length, 1, 'logged once per build');
      const bundle = path.join(out, `bundle-${run}`);
      execFileSync('umoci', ['unpack', '--image', layout, bundle], { stdio: 'pipe' });
      rootfs = path.join(bundle, 'rootfs');
      assert.equal(fs.readFileSync(path.join(rootfs, 'count'), 'utf8').trim(), String(run), 'the cache persists across builds');
      assert.doesNotMatch(execFileSync('sh', ['-c', `cat ${layout}/blobs/sha256/* | gzip -dc 2>/dev/null | strings`], { encoding: 'utf8', maxBuffer: 1 << 28 }),
        /s3cr3t|env-secret-value/, 'no secret in any layer');
    }
    const read = (p: string) => fs.readFileSync(path.join(rootfs, p), 'utf8');
    assert.equal(read('secret-size').trim(), '6');
    assert.equal(read('envsecret-stat').trim(), '440 1000');
    assert.equal(read('envsecret-size').trim(), '16');
    assert.equal(read('envsecret-env').trim(), '16');
    assert.equal(read('x'), 'from-stage\n');
    assert.equal(read('from-ctx'), 'hello from the context\n');
    assert.equal(read('rw-out'), 'w\n');
    assert.deepEqual(fs.readdirSync(ctx).sort(), ['Dockerfile', 'hello'], 'a rw bind\'s writes never reach the context');
    assert.equal(read('listing'), 'a\n');
    assert.deepEqual(fs.readdirSync(path.join(rootfs, 'keep')), ['file'], 'the tmpfs hid the dir; its content is back');
    assert.equal(read('script-out'), 'script /dev/pipes/EOF\n');
    assert.equal(fs.existsSync(path.join(rootfs, 'etc/group')), false);
    assert.deepEqual(fs.readdirSync(path.join(rootfs, 'usr/sbin')), ['new'], 'the replaced directory holds only its new file');
    assert.equal(fs.statSync(path.join(rootfs, 'usr/sbin/new')).uid, 1000);
    for (const gone of ['run/secrets', 'etc/tok', 'var/cache/app', 'mnt/x', 'ctx', 'dev/pipes', 'proc', 'sys']) {
      const p = path.join(rootfs, gone);
      assert.ok(!fs.existsSync(p) || (fs.statSync(p).isDirectory() && fs.readdirSync(p).length === 0), `${gone} left nothing`);
    }
    trees.set(mode, describeTree(rootfs));
    const first = [...trees.values()][0] as Map<string, string>;
    assert.deepEqual(Object.fromEntries(describeTree(rootfs)), Object.fromEntries(first), 'the same files as the first mode');
  });
}
