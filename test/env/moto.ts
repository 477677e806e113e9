/**
 * moto's server (Python; `moto_server`), a local stand-in for AWS APIs: ECR's GetAuthorizationToken answers
 * with base64("AWS:<account>-auth-token"). Point the AWS SDK at it with AWS_ENDPOINT_URL_ECR.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { httpGet } from './http-get.ts';
import { registerLeftover } from './process-cleanup.ts';
import { startRegistry } from './registry.ts';
import type { TestRegistry } from './registry.ts';

export interface MotoServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The ECR password moto issues for an account (moto/ecr/responses.py). */
export function motoEcrPassword(account: string): string {
  return `${account}-auth-token`;
}

/** moto's default account. */
export const MOTO_ACCOUNT = '123456789012';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000); });
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawned) throw new Error(`moto_server cannot be started (${spawned.message}): install it with pip (moto[server]) or apt (python3-moto)`);
  const forget = registerLeftover({ pid: child.pid! });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    forget();
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${stderr}`);
    try {
      await httpGet(`${url}/moto-api/`, { timeoutMs: 1000 });
      return { url, pid: child.pid!, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`moto_server did not answer on ${url}: ${stderr}`);
}

/** ECR as the tests see it: moto for the API, and a basic-auth registry that takes the password moto issues. */
export async function startEcrStandIn(): Promise<{ moto: MotoServer; registry: TestRegistry; stop(): Promise<void> }> {
  const [moto, registry] = await Promise.all([startMoto(), startRegistry({ mode: 'basic', users: { AWS: motoEcrPassword(MOTO_ACCOUNT) } })]);
  return { moto, registry, stop: async () => { await Promise.all([moto.stop(), registry.stop()]); } };
}
