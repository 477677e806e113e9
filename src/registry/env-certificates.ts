/**
 * OpenSSL's (and Go's) SSL_CERT_FILE / SSL_CERT_DIR: extra trusted CAs, as kaniko honours them. Its image sets
 * SSL_CERT_DIR=/kaniko/ssl/certs, and users mount their own CA there; Kiln's image does the same. Node's own
 * roots stay trusted: the certificates found are added to them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates in a file's text. */
export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}

function readQuietly(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';  // a dangling link or a subdirectory, as OpenSSL skips them
  }
}

/** Files named by SSL_CERT_FILE and found in the SSL_CERT_DIR directories (colon-separated). */
export function certificateFiles(env: NodeJS.ProcessEnv): string[] {
  const dirs = (env.SSL_CERT_DIR ?? '').split(':').filter((d) => d !== '');
  const inDirs = dirs.flatMap((dir) => {
    try {
      return readdirSync(dir).sort().map((name) => join(dir, name));
    } catch {
      return [];
    }
  });
  return [...(env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : []), ...inDirs];
}

// The environment does not change while Kiln runs: add its certificates once per process.
let applied = false;

/** Whether trustEnvCertificates() has run (the default CAs are final). */
export function envCertificatesTrusted(): boolean {
  return applied;
}

/** Adds the environment's CA certificates to the ones every TLS connection trusts by default. */
export function trustEnvCertificates(env: NodeJS.ProcessEnv = process.env): void {
  if (applied) return;
  applied = true;
  const extra = certificateFiles(env).flatMap((file) => pemCertificates(readQuietly(file)));
  if (extra.length === 0) return;
  const trusted = getCACertificates('default');
  setDefaultCACertificates([...new Set([...trusted, ...extra])]);
}
