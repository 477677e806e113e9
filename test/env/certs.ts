/**
 * The test PKI: one CA, a server certificate for 127.0.0.1/localhost and a token-signing certificate, all
 * made with openssl and cached in the env cache (generated once, shared by every test process).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedDir } from './cache-dir.ts';
import { envCacheDir } from './paths.ts';
import { run } from './run.ts';

/** Bump when the way certificates are made changes. */
const certRecipe = 'certs-v1';

export interface TestCertificates {
  dir: string;
  /** PEM files. */
  caCertFile: string;
  caKeyFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  tokenCertFile: string;
  tokenKeyFile: string;
}

function filesIn(dir: string): TestCertificates {
  return {
    dir,
    caCertFile: join(dir, 'ca.pem'),
    caKeyFile: join(dir, 'ca.key'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    tokenCertFile: join(dir, 'token.pem'),
    tokenKeyFile: join(dir, 'token.key'),
  };
}

async function issue(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, extensions);
  await run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', subject,
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`)]);
  await run('openssl', ['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.pem'),
    '-CAkey', join(dir, 'ca.key'), '-set_serial', `0x${Date.now().toString(16)}${name.length}`, '-days', '3650',
    '-sha256', '-extfile', extFile, '-out', join(dir, `${name}.pem`)]);
}

async function generate(dir: string): Promise<void> {
  mkdirSync(dir);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-sha256',
    '-subj', '/CN=Kiln test CA', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await issue(dir, 'server', '/CN=127.0.0.1', [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
  ].join('\n') + '\n');
  await issue(dir, 'token', '/CN=Kiln test token signer', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
  ].join('\n') + '\n');
}

/** The cached test certificates (made on first use). */
export async function testCertificates(): Promise<TestCertificates> {
  return filesIn(await cachedDir(join(envCacheDir(), certRecipe), generate));
}
