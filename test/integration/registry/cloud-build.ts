/** Shared steps of the cloud credential tests: a `kiln build` that pulls its base from and pushes to a registry. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { inspectImage } from '../../env/base-images.ts';
import { startEcrStandIn } from '../../env/moto.ts';
import type { MotoServer } from '../../env/moto.ts';
import type { TestRegistry } from '../../env/registry.ts';
import { context, kiln, tempDir } from '../builder/kiln-process.ts';
import type { KilnRun } from '../builder/kiln-process.ts';
import { seedBusybox } from './helpers.ts';

type TestContext = { after(fn: () => void): void };

/** Cloud variables the host may carry, cleared so that only what a test sets counts. */
export const CLEAN_CLOUD_ENV: NodeJS.ProcessEnv = {
  AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '', AWS_REGION: '', AWS_DEFAULT_REGION: '',
  AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_ECR: '', AWS_EC2_METADATA_DISABLED: 'true', AWS_WEB_IDENTITY_TOKEN_FILE: '', AWS_ROLE_ARN: '',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '', AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
  GOOGLE_APPLICATION_CREDENTIALS: '', GCE_METADATA_HOST: '', CLOUDSDK_CONFIG: '',
  AZURE_TENANT_ID: '', AZURE_CLIENT_ID: '', AZURE_CLIENT_SECRET: '', AZURE_CLIENT_CERTIFICATE_PATH: '', AZURE_FEDERATED_TOKEN_FILE: '',
  AZURE_AUTHORITY_HOST: '', IDENTITY_ENDPOINT: '', MSI_ENDPOINT: '',
};

/** A docker config dir with this config.json. */
export function dockerConfigDir(t: TestContext, config: object): string {
  const dir = tempDir(t, 'kiln-docker-');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** Builds FROM the registry's busybox, COPY one file, pushes to `repository:tag` at trace verbosity. */
export async function buildThrough(t: TestContext, reg: TestRegistry, target: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<KilnRun & { digest?: string }> {
  const ctx = context(t, { Dockerfile: `FROM ${reg.host}/library/busybox:latest\nCOPY a.txt /a.txt\n`, 'a.txt': `${target}\n` });
  const out = tempDir(t, 'kiln-out-');
  const r = await kiln(['build', '--context', ctx, '--destination', `${reg.host}/${target}`, '--digest-file', path.join(out, 'digest'),
    '--registry-certificate', `${reg.host}=${reg.caFile}`, '--verbosity=trace', ...extra], { HOME: out, ...CLEAN_CLOUD_ENV, ...env });
  const digestFile = path.join(out, 'digest');
  return { ...r, ...(fs.existsSync(digestFile) && { digest: fs.readFileSync(digestFile, 'utf8') }) };
}

/** The build pushed `target` (checked with skopeo) and none of `secrets` reached its output. */
export async function assertPushed(r: KilnRun & { digest?: string }, reg: TestRegistry, target: string, secrets: string[]): Promise<void> {
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await inspectImage(reg, target)).Digest, r.digest);
  assertNoSecrets(r, secrets);
}

export function assertNoSecrets(r: KilnRun, secrets: string[]): void {
  for (const secret of secrets) {
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `a secret reached the output: ${secret.slice(0, 4)}…`);
  }
}

/** moto and its registry (seeded with busybox) for the tests of this file: started before, stopped after. */
export function useEcrStandIn(): { moto: MotoServer; registry: TestRegistry } {
  const standIn = {} as { moto: MotoServer; registry: TestRegistry; stop?: () => Promise<void> };
  before(async () => {
    Object.assign(standIn, await startEcrStandIn());
    await seedBusybox(standIn.registry);
  });
  after(() => standIn.stop?.());
  return standIn;
}
