/**
 * Everything that changes how Kiln talks to registries, in one object passed explicitly (kaniko's
 * config.RegistryOptions plus the docker config location). The CLI builds it from kaniko's flags with
 * the parse helpers below.
 */
import { KilnError } from '../errors.ts';
import { DOCKER_HUB } from './reference.ts';
import type { RetryPolicy } from './transport.ts';

export interface ClientCertificate {
  certFile: string;
  keyFile: string;
}

/** How long Kiln waits on a registry before it counts a request as failed (then the normal retries apply). */
export interface RegistryTimeouts {
  /** TCP + TLS connection set-up. */
  connectMs: number;
  /** From a request sent to the response's status line and headers. */
  responseMs: number;
  /** Silence in the middle of a response body (a stalled blob download). */
  idleMs: number;
}

/** Defaults: long enough for a registry that finalises a large upload, short enough to notice a dead one. */
export const DEFAULT_REGISTRY_TIMEOUTS: RegistryTimeouts = { connectMs: 30_000, responseMs: 120_000, idleMs: 60_000 };

export interface RegistryOptions {
  /** Registries reached over plain HTTP (`--insecure-registry`), by registry name ("host:port"). */
  insecureRegistries: string[];
  /** `--insecure`: push over plain HTTP. `--insecure-pull`: pull over plain HTTP. */
  insecurePush: boolean;
  insecurePull: boolean;
  /** `--skip-tls-verify` (push) / `--skip-tls-verify-pull`, and per registry `--skip-tls-verify-registry`. */
  skipTlsVerifyPush: boolean;
  skipTlsVerifyPull: boolean;
  skipTlsVerifyRegistries: string[];
  /** `--registry-certificate reg=path`: extra CA certificates (PEM) per registry. */
  registryCertificates: Record<string, string>;
  /** `--registry-client-cert reg=cert,key`. */
  registryClientCerts: Record<string, ClientCertificate>;
  /**
   * `--registry-map orig=new[/prefix]` (and `--registry-mirror m`, which kaniko maps onto index.docker.io):
   * for each original registry, replacements tried in order before the original.
   */
  registryMaps: Record<string, string[]>;
  /** `--skip-default-registry-fallback`: never fall back to the original after mapped registries fail. */
  skipDefaultRegistryFallback: boolean;
  /** `--image-download-retry`: extra attempts for pulls. */
  imageDownloadRetry: number;
  /** `--push-retry`: extra attempts for pushes. */
  pushRetry: number;
  /** `--push-ignore-immutable-tag-errors`. */
  pushIgnoreImmutableTagErrors: boolean;
  /**
   * `--credential-helpers`: the built-in cloud helpers (google, ecr, acr) that may serve registries config.json
   * says nothing about, by host name. Undefined = all, as kaniko.
   */
  credentialHelpers?: string[];
  /** Directory holding config.json; undefined = the standard lookup (see docker-config.ts). */
  dockerConfigDir?: string;
  /** Environment used for the docker config lookup and credential helpers (PATH, HOME). */
  env: Record<string, string | undefined>;
  /** First backoff delay in ms (doubles per attempt). */
  retryBaseDelayMs: number;
  /** Uploads larger than this go as PATCH chunks of this size; smaller ones as one PUT. */
  chunkSize: number;
  /** Warnings (mirror fallbacks, retries). Never receives credentials. */
  log: (message: string) => void;
  timeouts: RegistryTimeouts;
  /** Aborts every request, retry wait and upload (SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

export function defaultRegistryOptions(overrides: Partial<RegistryOptions> = {}): RegistryOptions {
  return {
    insecureRegistries: [],
    insecurePush: false,
    insecurePull: false,
    skipTlsVerifyPush: false,
    skipTlsVerifyPull: false,
    skipTlsVerifyRegistries: [],
    registryCertificates: {},
    registryClientCerts: {},
    registryMaps: {},
    skipDefaultRegistryFallback: false,
    imageDownloadRetry: 0,
    pushRetry: 0,
    pushIgnoreImmutableTagErrors: false,
    env: process.env,
    retryBaseDelayMs: 1000,
    chunkSize: 0,
    log: () => {},
    timeouts: DEFAULT_REGISTRY_TIMEOUTS,
    ...overrides,
  };
}

/** Whether requests to `registry` go over plain HTTP for this direction. */
export function isInsecure(opts: RegistryOptions, registry: string, direction: 'pull' | 'push'): boolean {
  if (opts.insecureRegistries.includes(registry)) return true;
  return direction === 'pull' ? opts.insecurePull : opts.insecurePush;
}

export function skipsTlsVerify(opts: RegistryOptions, registry: string, direction: 'pull' | 'push'): boolean {
  if (opts.skipTlsVerifyRegistries.includes(registry)) return true;
  return direction === 'pull' ? opts.skipTlsVerifyPull : opts.skipTlsVerifyPush;
}

/** The retry policy of one direction: `--image-download-retry` for pulls, `--push-retry` for pushes. */
export function retryPolicyOf(opts: RegistryOptions, direction: 'pull' | 'push'): RetryPolicy {
  return {
    retries: direction === 'pull' ? opts.imageDownloadRetry : opts.pushRetry,
    baseDelayMs: opts.retryBaseDelayMs,
    log: opts.log,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}

function splitPair(flag: string, value: string): [string, string] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) {
    throw new KilnError('INVALID_FLAG', `${flag} expects REGISTRY=VALUE, got "${value}"`);
  }
  return [value.slice(0, eq), value.slice(eq + 1)];
}

/** `--registry-certificate my.registry.url=/path/to/the/certificate.cert` */
export function parseRegistryCertificate(value: string): [string, string] {
  return splitPair('--registry-certificate', value);
}

/** `--registry-client-cert my.registry.url=/path/client.cert,/path/client.key` */
export function parseRegistryClientCert(value: string): [string, ClientCertificate] {
  const [registry, files] = splitPair('--registry-client-cert', value);
  const [certFile, keyFile, ...rest] = files.split(',');
  if (!certFile || !keyFile || rest.length > 0) {
    throw new KilnError('INVALID_FLAG', `--registry-client-cert expects REGISTRY=CERTFILE,KEYFILE, got "${value}"`);
  }
  return [registry, { certFile, keyFile }];
}

/**
 * Adds one `--registry-map` value (`index.docker.io=mirror.gcr.io;other.io/prefix`) to `maps`.
 * "index.docker.io" and "docker.io" both name Docker Hub.
 */
export function addRegistryMap(maps: Record<string, string[]>, value: string): Record<string, string[]> {
  const [original, targets] = splitPair('--registry-map', value);
  const key = original === 'index.docker.io' ? DOCKER_HUB : original;
  const list = targets.split(';').filter((t) => t !== '');
  return { ...maps, [key]: [...(maps[key] ?? []), ...list] };
}

/** `--registry-mirror m` is a registry map for Docker Hub, as in kaniko. */
export function addRegistryMirror(maps: Record<string, string[]>, mirror: string): Record<string, string[]> {
  return addRegistryMap(maps, `${DOCKER_HUB}=${mirror}`);
}
