/** The distribution 2.8 configuration for each test registry mode (JSON, which its YAML parser accepts). */

export interface RegistryConfigInput {
  port: number;
  storageDir: string;
  secret: string;
  tls?: { certFile: string; keyFile: string };
  htpasswdFile?: string;
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

export function registryConfig(input: RegistryConfigInput): object {
  const http: Record<string, unknown> = { addr: `127.0.0.1:${input.port}`, secret: input.secret };
  if (input.tls) http.tls = { certificate: input.tls.certFile, key: input.tls.keyFile };
  const config: Record<string, unknown> = {
    version: '0.1',
    log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: input.storageDir },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http,
  };
  if (input.htpasswdFile !== undefined) {
    config.auth = { htpasswd: { realm: 'kiln-test-registry', path: input.htpasswdFile } };
  } else if (input.token) {
    config.auth = {
      token: {
        realm: input.token.realm, service: input.token.service, issuer: input.token.issuer,
        rootcertbundle: input.token.rootCertBundle,
      },
    };
  }
  return config;
}

/** A docker config.json that logs in to `host` (or knows no registry at all when no user is given). */
export function dockerConfigJson(host: string, username?: string, password?: string): string {
  const auths = username === undefined
    ? {}
    : { [host]: { auth: Buffer.from(`${username}:${password ?? ''}`).toString('base64') } };
  return `${JSON.stringify({ auths }, null, 2)}\n`;
}
