/**
 * The Kubernetes Pod recipe's executor in unprivileged containers (a privately started dockerd, `--network host`,
 * the test registry): a Dockerfile with `RUN --mount=type=cache`, `type=secret`, `type=bind` and a `#!` heredoc
 * builds and pushes with the credentials of a mounted config.json —
 *   - with docker's default capabilities and seccomp profile (a default pod): no mounts allowed, chroot mode
 *     with the mounts emulated;
 *   - with `--security-opt seccomp=unconfined` (and apparmor=unconfined): the user-namespace mode.
 * Both images equal the host build's (same digest under the same SOURCE_DATE_EPOCH).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { inspectImage } from '../../env/base-images.ts';
import type { Dockerd } from '../../env/dockerd.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { kiln } from '../builder/kiln-process.ts';
import { imageName, startImageTestEnv, type ImageTestEnv } from './kiln-images.ts';
import { container, localImage, localise, readYaml } from './recipes.ts';

const SOURCE_DATE_EPOCH = '1700000000';
const dockerfile = `# syntax=docker/dockerfile:1
FROM busybox
RUN --mount=type=cache,target=/var/cache/app echo cached >> /var/cache/app/log && cp /var/cache/app/log /cache-log
RUN --mount=type=secret,id=npmrc wc -c < /run/secrets/npmrc > /secret-size
RUN --mount=type=bind,source=hello.txt,target=/mnt/hello.txt cp /mnt/hello.txt /copied
RUN <<EOF
#!/bin/sh
echo "from a #! heredoc: $0" > /heredoc
EOF
RUN test ! -e /run/secrets/npmrc && test ! -e /mnt/hello.txt && test ! -e /var/cache/app/log
`;

let env: ImageTestEnv;
let registry: TestRegistry;
let dockerd: Dockerd;
let ctx: string;
let secrets: string;
let hostDigest: string;

before(async () => {
  env = await startImageTestEnv(['executor']);
  ({ registry, dockerd } = env);
  ctx = path.join(env.work, 'context');
  secrets = path.join(env.work, 'secrets');
  fs.mkdirSync(ctx);
  fs.mkdirSync(secrets);
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), dockerfile);
  fs.writeFileSync(path.join(ctx, 'hello.txt'), 'bound from the context\n');
  fs.writeFileSync(path.join(secrets, 'npmrc'), '//registry.npmjs.org/:_authToken=not-in-the-image\n');
  const host = await kiln(['build', '--context', ctx, '--secret', `id=npmrc,src=${path.join(secrets, 'npmrc')}`,
    '--destination', `${registry.host}/team/app:host`], {
    DOCKER_CONFIG: registry.dockerConfigDir, KANIKO_REGISTRY_MIRROR: registry.host, SSL_CERT_FILE: registry.caFile as string,
    SOURCE_DATE_EPOCH, KILN_CACHE_HOME: path.join(env.work, 'host-cache'),
  });
  assert.equal(host.status, 0, host.stderr);
  hostDigest = (await inspectImage(registry, 'team/app:host')).Digest as string;
});

after(() => env?.stop());

/** The Pod recipe's executor, run by docker with `securityOpts`; returns the log. */
function runPodRecipe(securityOpts: string[], tag: string): string {
  const kilnContainer = container(readYaml('kubernetes-pod.yaml'), 'kiln');
  const args = localise(kilnContainer.args ?? [], registry.host).map((a) => a.replace(/:1\.0$/, `:${tag}`));
  const r = dockerd.attempt('run', '--rm', '--network', 'host', ...securityOpts,
      '-v', `${registry.caFile}:/kaniko/ssl/certs/test-ca.crt:ro`, '-e', `KANIKO_REGISTRY_MIRROR=${registry.host}`,
      '-e', `SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH}`, '-e', 'NO_COLOR=1',
      '-v', `${ctx}:/workspace:ro`, '-v', `${registry.dockerConfigDir}:/kaniko/.docker:ro`, '-v', `${secrets}:/secrets:ro`,
      localImage(kilnContainer.image), ...args);
  assert.equal(r.status, 0, r.output);
  return r.output;
}

test('default capabilities and seccomp (a default pod): every RUN --mount type and a #! heredoc, pushed', async () => {
  assert.equal(imageName('executor'), localImage(container(readYaml('kubernetes-pod.yaml'), 'kiln').image));
  runPodRecipe([], 'default');
  assert.equal((await inspectImage(registry, 'team/app:default')).Digest, hostDigest);
});

test('seccomp=unconfined: the user-namespace mode, same image', async () => {
  const log = runPodRecipe(['--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined'], 'userns');
  assert.match(log, /RUN isolation: user-?n(ame)?s(pace)?\b/i);
  assert.equal((await inspectImage(registry, 'team/app:userns')).Digest, hostDigest);
});
