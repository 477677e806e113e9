/**
 * Docker's config.json: where it is, and which credentials it gives for a registry (docker/cli's
 * configfile semantics, as go-containerregistry's default keychain reads them).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../errors.ts';
import { DOCKER_HUB, DOCKER_HUB_AUTH_KEY } from './reference.ts';

/** What a registry needs to authenticate. All optional: empty means anonymous. */
export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken`, or a helper's Username "<token>"). */
  identityToken?: string;
  /** A bearer token used as-is (`registrytoken`). */
  registryToken?: string;
  /** When to ask again (ms since the epoch): built-in helpers' short-lived tokens. */
  expiresAt?: number;
  /** Where they came from when not the docker config itself ("built-in credential helper ecr-login"), for hints. */
  origin?: string;
}

export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Where credentials for a registry come from, before running any helper. */
export type CredentialSource =
  | { kind: 'anonymous' }
  | { kind: 'static'; credentials: Credentials }
  | { kind: 'helper'; helper: string; serverUrl: string; via: 'credHelpers' | 'credsStore' };

export const KANIKO_DOCKER_CONFIG_DIR = '/kaniko/.docker';

/**
 * The config.json to read: `$DOCKER_CONFIG/config.json` when DOCKER_CONFIG is set (the kaniko image sets it to
 * /kaniko/.docker), else /kaniko/.docker/config.json when it exists, else `$HOME/.docker/config.json`.
 */
export function dockerConfigPath(env: Record<string, string | undefined>, explicitDir?: string, exists = existsSync): string | undefined {
  if (explicitDir) return join(explicitDir, 'config.json');
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, 'config.json');
  const kaniko = join(KANIKO_DOCKER_CONFIG_DIR, 'config.json');
  if (exists(kaniko)) return kaniko;
  return env.HOME ? join(env.HOME, '.docker', 'config.json') : undefined;
}

/** Reads config.json; a missing file is an empty config, a malformed one is a KilnError. */
export function readDockerConfig(path: string | undefined): DockerConfigFile {
  if (path === undefined || !existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KilnError('DOCKER_CONFIG_INVALID', `cannot parse docker config ${path}: ${(err as Error).message}`, {
      hint: 'config.json must be JSON like {"auths": {"registry.example.com": {"auth": "<base64 user:password>"}}}',
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new KilnError('DOCKER_CONFIG_INVALID', `docker config ${path} is not a JSON object`);
  }
  return parsed as DockerConfigFile;
}

/** The key Docker uses for a registry in config.json and with credential helpers. */
export function authKey(registry: string): string {
  return registry === DOCKER_HUB || registry === 'index.docker.io' ? DOCKER_HUB_AUTH_KEY : registry;
}

/** docker/cli's ConvertToHostname: "https://host:5000/v1/" → "host:5000". */
export function convertToHostname(key: string): string {
  let host = key.replace(/^https?:\/\//, '');
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  return host;
}

function sameRegistry(key: string, registry: string): boolean {
  const host = convertToHostname(key);
  const want = registry === DOCKER_HUB ? 'index.docker.io' : registry;
  return host === want || (registry === DOCKER_HUB && (host === DOCKER_HUB || host === 'registry-1.docker.io'));
}

/** Decides where credentials for `registry` come from: credHelpers, then credsStore, then auths. */
export function credentialSource(config: DockerConfigFile, registry: string): CredentialSource {
  const serverUrl = authKey(registry);
  const helper = Object.entries(config.credHelpers ?? {}).find(([key]) => key === serverUrl || sameRegistry(key, registry));
  if (helper) return { kind: 'helper', helper: helper[1], serverUrl, via: 'credHelpers' };
  if (config.credsStore) return { kind: 'helper', helper: config.credsStore, serverUrl, via: 'credsStore' };
  const auths = config.auths ?? {};
  const entry = auths[serverUrl] ?? Object.entries(auths).find(([key]) => sameRegistry(key, registry))?.[1];
  if (!entry) return { kind: 'anonymous' };
  const credentials = decodeAuthEntry(entry, registry);
  return isEmpty(credentials) ? { kind: 'anonymous' } : { kind: 'static', credentials };
}

export function isEmpty(c: Credentials): boolean {
  return !c.username && !c.password && !c.identityToken && !c.registryToken;
}

/** `auth` (base64 "user:password") wins over username/password, as in docker/cli. */
export function decodeAuthEntry(entry: AuthEntry, registry: string): Credentials {
  const credentials: Credentials = {};
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      throw new KilnError('DOCKER_CONFIG_INVALID', `the "auth" entry for ${registry} in the docker config is not base64 of "user:password"`);
    }
    credentials.username = decoded.slice(0, colon);
    credentials.password = decoded.slice(colon + 1);
  } else {
    if (entry.username) credentials.username = entry.username;
    if (entry.password) credentials.password = entry.password;
  }
  if (entry.identitytoken) credentials.identityToken = entry.identitytoken;
  if (entry.registrytoken) credentials.registryToken = entry.registrytoken;
  return credentials;
}
