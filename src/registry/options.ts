/**
 * Everything that changes how Kiln talks to registries, in one object passed explicitly (kaniko's
 * config.RegistryOptions plus the docker config location). The CLI builds it from kaniko's flags with
 * the parse helpers below.
 */
import { KilnError } from '../errors.ts';
import type { RetryPolicy } from './transport.ts';
import type { TransferProgress } from '../log/transfer-progress.ts';
import { DOCKER_HUB, isRegistryHost, normalizeRegistryName } from './reference.ts';

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
  /** Progress worth a line at the default level (which mirror served a pull). */
  info?: (message: string) => void;
  /** Per-blob transfer progress (pulls and pushes of layers). */
  progress?: TransferProgress;
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
  if (registryListed(opts.insecureRegistries, registry)) return true;
  return direction === 'pull' ? opts.insecurePull : opts.insecurePush;
}

/** Registries Docker and go-containerregistry try over HTTPS first and then plain HTTP. */
function isLocalRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || /^127\./.test(host) || host === '[::1]' || /^10\./.test(host) || /^192\.168\./.test(host) || /^172\.(1[6-9]|2\d|3[01])\./.test(host);
}

/** Whether `registry` is tried over plain HTTP when HTTPS fails: an insecure one, or a local one (as Docker does). */
export function triesPlainHttp(opts: RegistryOptions, registry: string, direction: 'pull' | 'push'): boolean {
  return isInsecure(opts, registry, direction) || isLocalRegistry(registry);
}

export function skipsTlsVerify(opts: RegistryOptions, registry: string, direction: 'pull' | 'push'): boolean {
  if (registryListed(opts.skipTlsVerifyRegistries, registry)) return true;
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

/** Whether `registry` is in a per-registry flag's list, whichever of its names the user wrote. */
export function registryListed(list: readonly string[], registry: string): boolean {
  const want = normalizeRegistryName(registry);
  return list.some((r) => normalizeRegistryName(r) === want);
}

/** The value a per-registry flag (`--registry-certificate`, …) gives `registry`, whichever name it used. */
export function registryEntry<T>(entries: Record<string, T>, registry: string): T | undefined {
  const want = normalizeRegistryName(registry);
  const key = Object.keys(entries).find((r) => normalizeRegistryName(r) === want);
  return key === undefined ? undefined : entries[key];
}

/**
 * Checks one mirror (`--registry-mirror`, the right side of `--registry-map`): "host[:port][/prefix]".
 * A URL is refused rather than read as host "http": the scheme is chosen by --insecure-registry.
 */
export function checkMirror(flag: string, mirror: string): string {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(mirror);
  if (scheme) {
    const host = mirror.slice(scheme[0].length).replace(/\/+$/, '');
    throw new KilnError('INVALID_FLAG', `${flag}: "${mirror}" is a URL; give the registry as HOST[:PORT][/PREFIX]`, {
      exitCode: 2,
      hint: scheme[1].toLowerCase() === 'http' ? `use "${host}" and add --insecure-registry ${host.split('/')[0]} for plain HTTP` : `use "${host}"`,
    });
  }
  const slash = mirror.indexOf('/');
  const host = slash < 0 ? mirror : mirror.slice(0, slash);
  if (!isRegistryHost(host)) {
    throw new KilnError('INVALID_FLAG', `${flag}: "${mirror}" does not start with a registry host`, {
      exitCode: 2,
      hint: 'a mirror looks like HOST[:PORT][/PREFIX], e.g. mirror.gcr.io or 127.0.0.1:5000/dockerhub',
    });
  }
  return mirror;
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
 * Adds one `--registry-map` pair (`index.docker.io=mirror.gcr.io`) to `maps`, keyed by the normalised
 * registry name (Docker Hub's three names are one registry).
 */
export function addRegistryMap(maps: Record<string, string[]>, value: string, flag = '--registry-map'): Record<string, string[]> {
  const [original, targets] = splitPair(flag, value);
  const key = normalizeRegistryName(original);
  const list = targets.split(';').filter((t) => t !== '').map((t) => checkMirror(flag, t));
  return { ...maps, [key]: [...(maps[key] ?? []), ...list] };
}

/** `--registry-mirror m` is a registry map for Docker Hub, as in kaniko. */
export function addRegistryMirror(maps: Record<string, string[]>, mirror: string): Record<string, string[]> {
  return addRegistryMap(maps, `${DOCKER_HUB}=${mirror}`, '--registry-mirror');
}

/** The mirrors configured for `registry`, whichever of its names the reference used. */
export function mirrorsFor(opts: RegistryOptions, registry: string): string[] {
  return registryEntry(opts.registryMaps, registry) ?? [];
}
