import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBuildArgv } from '../../../src/cli/build-options.ts';
import { FLAGS } from '../../../src/cli/kaniko-flags.ts';
import { isKilnError } from '../../../src/errors.ts';

function workspace(t: { after: (fn: () => void) => void }): { root: string; ctx: string; cwd: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-opts-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const ctx = path.join(root, 'ctx');
  const cwd = path.join(root, 'cwd');
  fs.mkdirSync(path.join(ctx, 'sub', 'docker'), { recursive: true });
  fs.mkdirSync(cwd);
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\n');
  fs.writeFileSync(path.join(ctx, 'sub', 'Dockerfile'), 'FROM scratch\n');
  fs.writeFileSync(path.join(ctx, 'sub', 'docker', 'Dockerfile.prod'), 'FROM scratch\n');
  return { root, ctx, cwd };
}

function rejects(fn: () => unknown, text: string | RegExp, code?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isKilnError(err), `expected a KilnError, got ${String(err)}`);
    assert.match(err.message, typeof text === 'string' ? new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : text);
    if (code) assert.equal(err.code, code);
    assert.ok(err.exitCode !== 0);
    return true;
  });
}

test('kaniko defaults resolve into BuildOptions', (t) => {
  const { ctx, cwd } = workspace(t);
  const o = parseBuildArgv(['--context', ctx, '--no-push'], {}, cwd);
  assert.deepEqual(o.context, { kind: 'dir', path: ctx });
  assert.deepEqual(o.dockerfile, { kind: 'file', path: path.join(ctx, 'Dockerfile'), relativeToContext: false, given: 'Dockerfile' });
  assert.equal(o.output.push, false);
  assert.deepEqual(o.output.destinations, []);
  assert.equal(o.output.compression, 'gzip');
  assert.equal(o.output.compressionLevel, -1);
  assert.equal(o.cache.dir, '/cache');
  assert.equal(o.cache.ttlMs, 336 * 3_600_000);
  assert.equal(o.cache.runLayers, true);
  assert.equal(o.ignoreVarRun, true);
  assert.equal(o.kanikoDir, '/kaniko');
  assert.equal(o.isolation, 'auto');
  assert.deepEqual(o.log, { level: 'info', format: 'color', timestamp: false });
  assert.equal(o.platform, undefined);
  assert.equal(o.target, undefined);
  assert.equal(o.reproducible, false);
  assert.deepEqual(o.notices, []);
});

test('supported flags land in BuildOptions; output paths are absolute', (t) => {
  const { ctx, cwd } = workspace(t);
  const o = parseBuildArgv([
    '-c', ctx, '-d', 'reg.example/app:1', '--destination=reg.example/app:latest', '--no-push',
    '--tar-path', 'out/image.tar', '--oci-layout-path=layout', '--digest-file', 'digest',
    '--image-name-with-digest-file', 'name', '--image-name-tag-with-digest-file', 'tag',
    '--target', 'final', '--label', 'a=1', '--label', 'b=x=y', '--label', 'a=2', '--reproducible',
    '--custom-platform', 'linux/arm64', '--skip-unused-stages', '-v', 'debug', '--log-format=json', '--log-timestamp',
  ], {}, cwd);
  assert.deepEqual(o.output.destinations, ['reg.example/app:1', 'reg.example/app:latest']);
  assert.equal(o.output.tarPath, path.join(cwd, 'out/image.tar'));
  assert.equal(o.output.ociLayoutPath, path.join(cwd, 'layout'));
  assert.equal(o.output.digestFile, path.join(cwd, 'digest'));
  assert.equal(o.output.imageNameWithDigestFile, path.join(cwd, 'name'));
  assert.equal(o.output.imageNameTagWithDigestFile, path.join(cwd, 'tag'));
  assert.equal(o.target, 'final');
  assert.deepEqual([...o.labels], [['a', '2'], ['b', 'x=y']]);
  assert.equal(o.reproducible, true);
  assert.equal(o.platform, 'linux/arm64');
  assert.equal(o.skipUnusedStages, true);
  assert.deepEqual(o.log, { level: 'debug', format: 'json', timestamp: true });
});

test('--build-arg: KEY=VALUE, KEY alone from the environment (empty when unset), later wins', (t) => {
  const { ctx, cwd } = workspace(t);
  const o = parseBuildArgv(['-c', ctx, '--no-push', '--build-arg', 'A=1', '--build-arg', 'HOME_DIR', '--build-arg', 'UNSET',
    '--build-arg', 'EQ=a=b', '--build-arg', 'A=2', '--build-arg', 'EMPTY='], { HOME_DIR: '/home/x' }, cwd);
  assert.deepEqual([...o.buildArgs], [['A', '2'], ['HOME_DIR', '/home/x'], ['UNSET', ''], ['EQ', 'a=b'], ['EMPTY', '']]);
  rejects(() => parseBuildArgv(['-c', ctx, '--no-push', '--build-arg', '=x'], {}, cwd), '"=x" for --build-arg');
});

test('context: DIR, dir://DIR, --context-sub-path; a missing directory names the flag', (t) => {
  const { ctx, cwd, root } = workspace(t);
  assert.deepEqual(parseBuildArgv([`--context=dir://${ctx}`, '--no-push'], {}, cwd).context, { kind: 'dir', path: ctx });
  const rel = parseBuildArgv(['-c', '../ctx', '--no-push'], {}, cwd);
  assert.deepEqual(rel.context, { kind: 'dir', path: ctx });
  const sub = parseBuildArgv(['-c', ctx, '--context-sub-path', 'sub', '--no-push'], {}, cwd);
  assert.deepEqual(sub.context, { kind: 'dir', path: path.join(ctx, 'sub') });
  assert.equal((sub.dockerfile as { path: string }).path, path.join(ctx, 'sub', 'Dockerfile'));
  rejects(() => parseBuildArgv(['--context', path.join(root, 'nope'), '--no-push'], {}, cwd), /--context: .*nope is not a directory/);
  rejects(() => parseBuildArgv(['-c', ctx, '--context-sub-path', 'missing', '--no-push'], {}, cwd), /--context-sub-path/);
  rejects(() => parseBuildArgv(['-c', ctx, '--context-sub-path', '../..', '--no-push'], {}, cwd), /leaves the build context/);
  rejects(() => parseBuildArgv(['--no-push'], {}, cwd), /\/workspace/);
});

test('context: tar://FILE and tar://stdin are resolved later; remote schemes and --bucket are kept as URLs', (t) => {
  const { ctx, cwd, root } = workspace(t);
  const tarFile = path.join(root, 'c.tar.gz');
  fs.writeFileSync(tarFile, '');
  const tar = parseBuildArgv([`--context=tar://${tarFile}`, '--context-sub-path=sub', '--no-push'], {}, cwd);
  assert.deepEqual(tar.context, { kind: 'tar', path: tarFile, subPath: 'sub' });
  assert.deepEqual(tar.dockerfile, { kind: 'file', path: 'Dockerfile', relativeToContext: true, given: 'Dockerfile' });
  assert.deepEqual(parseBuildArgv(['--context=tar://stdin', '--no-push'], {}, cwd).context, { kind: 'stdin', subPath: '' });
  rejects(() => parseBuildArgv([`--context=tar://${root}/missing.tar`, '--no-push'], {}, cwd), /--context: .*missing.tar is not a file/);
  const remotes: [string, string][] = [
    ['git://github.com/a/b.git#refs/heads/main', 'git'], ['https://example.com/a/b.git', 'git'], ['http://example.com/a/b.git#v1#' + 'a'.repeat(40), 'git'],
    ['s3://bucket/ctx.tar.gz', 's3'], ['gs://bucket/ctx.tar.gz', 'gcs'], ['https://acct.blob.core.windows.net/c/ctx.tar.gz', 'azure'],
  ];
  for (const [url, kind] of remotes) {
    assert.deepEqual(parseBuildArgv(['-c', url, '--context-sub-path', 'sub', '--no-push'], {}, cwd).context, { kind, url, subPath: 'sub' });
  }
  assert.deepEqual(parseBuildArgv(['--bucket', 'b', '--no-push'], {}, cwd).context, { kind: 'gcs', url: 'gs://b', subPath: '' });
  assert.deepEqual(parseBuildArgv(['-b', 's3://b/k.tar.gz', '--no-push'], {}, cwd).context, { kind: 's3', url: 's3://b/k.tar.gz', subPath: '' });
  rejects(() => parseBuildArgv(['-c', 'https://example.com/not-a-repo', '--no-push'], {}, cwd), 'unsupported context source');
  rejects(() => parseBuildArgv(['-c', 'ftp://x/y', '--no-push'], {}, cwd), 'unsupported context source');
  rejects(() => parseBuildArgv(['--context=tar://stdin', '-f', '-', '--no-push'], {}, cwd), 'standard input');
  void ctx;
});

test('--dockerfile: relative to the context, explicit ones to the working directory first, absolute, stdin', (t) => {
  const { ctx, cwd } = workspace(t);
  const inCtx = parseBuildArgv(['-c', ctx, '-f', 'sub/docker/Dockerfile.prod', '--no-push'], {}, cwd);
  assert.equal((inCtx.dockerfile as { path: string }).path, path.join(ctx, 'sub/docker/Dockerfile.prod'));
  fs.writeFileSync(path.join(cwd, 'Local.Dockerfile'), 'FROM scratch\n');
  const fromCwd = parseBuildArgv(['-c', ctx, '-f', 'Local.Dockerfile', '--no-push'], {}, cwd);
  assert.equal((fromCwd.dockerfile as { path: string }).path, path.join(cwd, 'Local.Dockerfile'));
  // The default never picks up a Dockerfile lying in the working directory.
  fs.writeFileSync(path.join(cwd, 'Dockerfile'), 'FROM scratch\n');
  assert.equal((parseBuildArgv(['-c', ctx, '--no-push'], {}, cwd).dockerfile as { path: string }).path, path.join(ctx, 'Dockerfile'));
  const absolute = path.join(ctx, 'sub', 'Dockerfile');
  assert.equal((parseBuildArgv(['-c', ctx, `--dockerfile=${absolute}`, '--no-push'], {}, cwd).dockerfile as { path: string }).path, absolute);
  assert.deepEqual(parseBuildArgv(['-c', ctx, '-f', '-', '--no-push'], {}, cwd).dockerfile, { kind: 'stdin' });
  rejects(() => parseBuildArgv(['-c', ctx, '-f', 'nope/Dockerfile', '--no-push'], {}, cwd), /-f \(--dockerfile\) nope\/Dockerfile/, 'DOCKERFILE_NOT_FOUND');
  assert.deepEqual(parseBuildArgv(['-c', ctx, '-f', 'https://example.com/Dockerfile', '--no-push'], {}, cwd).dockerfile, { kind: 'url', url: 'https://example.com/Dockerfile' });
});

test('invalid values name the flag', (t) => {
  const { ctx, cwd } = workspace(t);
  const base = ['-c', ctx, '--no-push'];
  const cases: Array<[string[], string]> = [
    [['--verbosity=loud'], 'invalid value "loud" for --verbosity'],
    [['-v', 'loud'], 'invalid value "loud" for -v (--verbosity)'],
    [['--log-format=xml'], 'invalid value "xml" for --log-format'],
    [['--compression=lz4'], 'invalid value "lz4" for --compression'],
    [['--compression-level=12'], 'for --compression-level: gzip levels are 0-9'],
    [['--snapshot-mode=fast'], 'invalid value "fast" for --snapshot-mode'],
    [['--isolation=vm'], 'invalid value "vm" for --isolation'],
    [['--custom-platform=linux amd64'], 'for --custom-platform'],
    [['--label', 'novalue'], 'invalid value "novalue" for --label'],
    [['--registry-map', 'nomap'], 'for --registry-map'],
    [['--registry-certificate', 'reg'], 'for --registry-certificate'],
    [['--registry-client-cert', 'reg=cert'], 'for --registry-client-cert'],
    [['--git', 'branch=main,depth=1'], 'in --git'],
    [['--secret', 'src=/x'], 'for --secret: id is missing'],
    [['--push-retry=-1'], 'for --push-retry'],
    [['stray'], 'unexpected argument "stray"'],
  ];
  for (const [extra, message] of cases) rejects(() => parseBuildArgv([...base, ...extra], {}, cwd), message);
  rejects(() => parseBuildArgv(base, { SOURCE_DATE_EPOCH: 'yesterday' }, cwd), 'SOURCE_DATE_EPOCH');
});

test('flags not supported yet fail when used, pass when left at their default', (t) => {
  const { ctx, cwd } = workspace(t);
  const base = ['-c', ctx, '--no-push'];
  const later = FLAGS.filter((f) => f.status === 'later');
  const sample: Record<string, string> = {
    'cache-repo': 'reg/cache', 'cache-dir': '/tmp/c', 'cache-ttl': '6h', 'kaniko-dir': '/k', compression: 'zstd',
    'compression-level': '3', 'registry-mirror': 'mirror.gcr.io', 'registry-map': 'a=b', 'insecure-registry': 'r:5000',
    'registry-certificate': 'r=/c.pem', 'registry-client-cert': 'r=/c,/k', 'secret': 'id=a,src=/s', git: 'branch=main',
    isolation: 'chroot', 'push-retry': '2', 'image-download-retry': '1', 'image-fs-extract-retry': '1', 'credential-helpers': 'ecr',
  };
  for (const f of later) {
    let argv: string[];
    if (f.type === 'bool') argv = [`--${f.name}=${String(!f.default)}`];
    else argv = [`--${f.name}`, sample[f.name] ?? 'x=y'];
    const extra = f.name === 'cache' ? ['--cache-repo=r'] : [];
    rejects(() => parseBuildArgv([...base, ...argv, ...extra], {}, cwd), `--${f.name} is not supported yet`, 'FLAG_NOT_SUPPORTED');
  }
  // Defaults given explicitly are fine.
  const o = parseBuildArgv([...base, '--cache=false', '--cache-run-layers=true', '--cache-dir=/cache', '--cache-ttl=336h',
    '--compression=gzip', '--ignore-var-run', '--kaniko-dir', '/kaniko', '--isolation=auto'], {}, cwd);
  assert.equal(o.cache.enabled, false);
  assert.equal(parseBuildArgv(base, { KANIKO_DIR: '/k' }, cwd).kanikoDir, '/k');
});

test('--destination pushes unless --no-push; digest-name files need a destination', (t) => {
  const { ctx, cwd } = workspace(t);
  rejects(() => parseBuildArgv(['-c', ctx], {}, cwd), 'you must provide --destination, or use --no-push');
  const pushing = parseBuildArgv(['-c', ctx, '-d', 'reg/app', '--push-retry=2', '--skip-push-permission-check', '--insecure'], {}, cwd);
  assert.equal(pushing.output.push, true);
  assert.equal(pushing.registry.pushRetry, 2);
  assert.equal(pushing.registry.skipPushPermissionCheck, true);
  assert.equal(pushing.registry.insecurePush, true);
  rejects(() => parseBuildArgv(['-c', ctx, '--no-push', '--image-name-with-digest-file=f'], {}, cwd), 'you must provide --destination if setting --image-name-with-digest-file');
  const o = parseBuildArgv(['-c', ctx, '-d', 'reg/app'], { KANIKO_NO_PUSH: 'true' }, cwd);
  assert.equal(o.output.push, false);
});

test('no-effect flags and deprecated spellings produce notices', (t) => {
  const { ctx, cwd } = workspace(t);
  const o = parseBuildArgv(['-c', ctx, '--no-push', '--snapshotMode=redo', '--cleanup', '--force', '--use-new-run', '--tarPath=t.tar', '--customPlatform=linux/amd64'], {}, cwd);
  assert.equal(o.output.tarPath, path.join(cwd, 't.tar'));
  assert.equal(o.platform, 'linux/amd64');
  assert.equal(o.snapshotMode, 'redo');
  assert.equal(o.cleanup, true);
  const text = o.notices.join('\n');
  for (const s of ['--force has no effect', '--use-new-run has no effect',
    'Flag --tarPath is deprecated. Use: --tar-path', 'Flag --snapshotMode is deprecated', 'Flag --customPlatform is deprecated']) {
    assert.ok(text.includes(s), `notice "${s}" in:\n${text}`);
  }
  assert.equal(parseBuildArgv(['-c', ctx, '--no-push', '--snapshot-mode=full'], {}, cwd).notices.length, 0);
});

test('environment: SOURCE_DATE_EPOCH, DOCKER_CONFIG, BENCHMARK_FILE', (t) => {
  const { ctx, cwd } = workspace(t);
  const o = parseBuildArgv(['-c', ctx, '--no-push', '--reproducible'], { SOURCE_DATE_EPOCH: '1700000000', DOCKER_CONFIG: '/kaniko/.docker', BENCHMARK_FILE: '/tmp/b.json' }, cwd);
  assert.equal(o.sourceDateEpoch, 1700000000);
  assert.equal(o.registry.dockerConfigDir, '/kaniko/.docker');
  assert.equal(o.benchmarkFile, '/tmp/b.json');
  assert.equal(parseBuildArgv(['-c', ctx, '--no-push'], { BENCHMARK_FILE: 'false' }, cwd).benchmarkFile, undefined);
});
