/**
 * The cloud helpers cost nothing to builds that do not use them: a registry build loads none of
 * src/registry/cloud-auth's providers nor a cloud SDK; one that uses ecr-login loads the ECR provider and the
 * AWS SDK only.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { recordedModules, recordModulesOption } from '../../env/module-recorder.ts';
import { tempDir } from '../builder/kiln-process.ts';
import { buildThrough, dockerConfigDir, useEcrStandIn } from './cloud-build.ts';

const ecr = useEcrStandIn();

const matching = (loaded: string[], part: string) => loaded.filter((u) => u.includes(part));

test('a registry build with docker config credentials loads no cloud helper nor SDK; ecr-login loads only ECR\'s', async (t) => {
  const dir = tempDir(t, 'kiln-lazy-');
  const plainList = path.join(dir, 'plain.txt');
  const r = await buildThrough(t, ecr.registry, 'lazy/plain:1', { DOCKER_CONFIG: ecr.registry.dockerConfigDir, NODE_OPTIONS: recordModulesOption(plainList), KILN_FROM_SOURCE: '1' });
  assert.equal(r.status, 0, r.stderr);
  const plain = recordedModules(plainList);
  assert.ok(matching(plain, '/src/registry/session.ts').length > 0, 'the hook saw the registry client');
  for (const unwanted of ['/src/registry/cloud-auth/index.ts', '/src/registry/cloud-auth/ecr.ts', '/src/registry/cloud-auth/google.ts', '/src/registry/cloud-auth/acr.ts', '/node_modules/@aws-sdk/', '/node_modules/@azure/', '/node_modules/@smithy/']) {
    assert.deepEqual(matching(plain, unwanted), [], `${unwanted} loaded`);
  }

  const ecrList = path.join(dir, 'ecr.txt');
  const e = await buildThrough(t, ecr.registry, 'lazy/ecr:1', {
    DOCKER_CONFIG: dockerConfigDir(t, { credHelpers: { [ecr.registry.host]: 'ecr-login' } }), NODE_OPTIONS: recordModulesOption(ecrList), KILN_FROM_SOURCE: '1',
    AWS_ENDPOINT_URL_ECR: ecr.moto.url, AWS_ACCESS_KEY_ID: 'AKIAKILNTEST', AWS_SECRET_ACCESS_KEY: 'kiln-test-secret', AWS_REGION: 'us-east-1',
  });
  assert.equal(e.status, 0, e.stderr);
  const loaded = recordedModules(ecrList);
  assert.ok(matching(loaded, '/src/registry/cloud-auth/ecr.ts').length > 0);
  assert.ok(matching(loaded, '/node_modules/@aws-sdk/client-ecr/').length > 0);
  assert.deepEqual([...matching(loaded, '/node_modules/@azure/'), ...matching(loaded, '/src/registry/cloud-auth/acr.ts'), ...matching(loaded, '/src/registry/cloud-auth/google.ts')], []);
});
