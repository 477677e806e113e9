/**
 * The cloud helpers cost nothing to builds that do not use them: a registry build loads none of
 * src/registry/cloud-auth's providers nor a cloud SDK; one that uses ecr-login loads the ECR provider and the
 * AWS SDK only.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { motoEcrPassword, MOTO_ACCOUNT, startMoto } from '../../env/moto.ts';
import type { MotoServer } from '../../env/moto.ts';
import { startRegistry } from '../../env/registry.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { tempDir } from '../builder/kiln-process.ts';
import { buildThrough, dockerConfigDir } from './cloud-build.ts';
import { seedBusybox } from './helpers.ts';

let moto: MotoServer;
let reg: TestRegistry;
before(async () => {
  [moto, reg] = await Promise.all([startMoto(), startRegistry({ mode: 'basic', users: { AWS: motoEcrPassword(MOTO_ACCOUNT) } })]);
  await seedBusybox(reg);
});
after(async () => {
  await Promise.all([moto?.stop(), reg?.stop()]);
});

/** NODE_OPTIONS that record every module the kiln process loads into `list`. */
function recordModules(list: string): string {
  const hook = [
    "import { registerHooks } from 'node:module';",
    "import { writeFileSync } from 'node:fs';",
    'const urls = new Set();',
    'registerHooks({ load(url, context, next) { urls.add(url); return next(url, context); } });',
    `process.on('exit', () => writeFileSync(${JSON.stringify(list)}, [...urls].join('\\n')));`,
  ].join('\n');
  return `--import=data:text/javascript,${encodeURIComponent(hook)}`;
}

const loadedOf = (list: string) => fs.readFileSync(list, 'utf8').split('\n');
const matching = (loaded: string[], part: string) => loaded.filter((u) => u.includes(part));

test('a registry build with docker config credentials loads no cloud helper nor SDK; ecr-login loads only ECR\'s', async (t) => {
  const dir = tempDir(t, 'kiln-lazy-');
  const plainList = path.join(dir, 'plain.txt');
  const r = await buildThrough(t, reg, 'lazy/plain:1', { DOCKER_CONFIG: reg.dockerConfigDir, NODE_OPTIONS: recordModules(plainList) });
  assert.equal(r.status, 0, r.stderr);
  const plain = loadedOf(plainList);
  assert.ok(matching(plain, '/src/registry/session.ts').length > 0, 'the hook saw the registry client');
  for (const unwanted of ['/src/registry/cloud-auth/index.ts', '/src/registry/cloud-auth/ecr.ts', '/src/registry/cloud-auth/google.ts', '/src/registry/cloud-auth/acr.ts', '/node_modules/@aws-sdk/', '/node_modules/@azure/', '/node_modules/@smithy/']) {
    assert.deepEqual(matching(plain, unwanted), [], `${unwanted} loaded`);
  }

  const ecrList = path.join(dir, 'ecr.txt');
  const e = await buildThrough(t, reg, 'lazy/ecr:1', {
    DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [reg.host]: 'ecr-login' } }), NODE_OPTIONS: recordModules(ecrList),
    AWS_ENDPOINT_URL_ECR: moto.url, AWS_ACCESS_KEY_ID: 'AKIAKILNTEST', AWS_SECRET_ACCESS_KEY: 'kiln-test-secret', AWS_REGION: 'us-east-1',
  });
  assert.equal(e.status, 0, e.stderr);
  const ecr = loadedOf(ecrList);
  assert.ok(matching(ecr, '/src/registry/cloud-auth/ecr.ts').length > 0);
  assert.ok(matching(ecr, '/node_modules/@aws-sdk/client-ecr/').length > 0);
  assert.deepEqual([...matching(ecr, '/node_modules/@azure/'), ...matching(ecr, '/src/registry/cloud-auth/acr.ts'), ...matching(ecr, '/src/registry/cloud-auth/google.ts')], []);
});
