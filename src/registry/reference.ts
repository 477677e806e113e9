/**
 * Image references, parsed and normalised exactly as Docker does (distribution/reference's
 * ParseNormalizedNamed): `busybox` is `docker.io/library/busybox:latest`.
 */
import { KilnError } from '../errors.ts';

export interface Reference {
  /** Canonical registry name: "docker.io", "localhost:5000", "ghcr.io". */
  readonly registry: string;
  /** Repository path inside the registry: "library/busybox". */
  readonly repository: string;
  /** Undefined only when a digest is given without a tag. */
  readonly tag?: string;
  /** "sha256:…" when pinned. */
  readonly digest?: string;
}

export const DOCKER_HUB = 'docker.io';
/** Where requests for docker.io go. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
/** The key Docker writes for Docker Hub in config.json and hands to credential helpers. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
/** Docker Hub's name in kaniko's docs (`--registry-map index.docker.io=…`) and in old docker configs. */
export const DOCKER_HUB_INDEX = 'index.docker.io';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_LENGTH_MAX = 255;

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6})(?::[0-9]+)?`;
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePattern = `(?:${domainAndPort}/)?${remoteName}`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const referenceRegexp = new RegExp(`^(${namePattern})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const tagRegexp = new RegExp(`^${tagPattern}$`);
const anchoredIdentifier = /^[a-f0-9]{64}$/;
const digestLengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export interface ParseReferenceOptions {
  /** Tag used when the reference has neither tag nor digest. Default "latest". */
  defaultTag?: string;
}

/** Parses a user-written image reference; throws KilnError INVALID_REFERENCE saying what is wrong. */
export function parseReference(text: string, options: ParseReferenceOptions = {}): Reference {
  const fail = (why: string, hint?: string): never => {
    throw new KilnError('INVALID_REFERENCE', `invalid image reference "${text}": ${why}`, { hint });
  };
  if (text === '') fail('repository name must have at least one component');
  if (anchoredIdentifier.test(text)) fail('cannot specify 64-byte hexadecimal strings as a repository name');
  const [domain, remainder] = splitDockerDomain(text);
  const colon = remainder.indexOf(':');
  const at = remainder.indexOf('@');
  const nameEnd = Math.min(colon < 0 ? remainder.length : colon, at < 0 ? remainder.length : at);
  const repoPart = remainder.slice(0, nameEnd);
  if (repoPart.toLowerCase() !== repoPart) fail(`repository name "${repoPart}" must be lowercase`);

  const full = `${domain}/${remainder}`;
  const match = referenceRegexp.exec(full);
  if (!match) {
    if (referenceRegexp.test(full.toLowerCase())) fail('repository name must be lowercase');
    explainFormatError(text, remainder, fail);
  }
  const [, name, tag, digest] = match!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) fail(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  if (digest !== undefined) validateDigest(digest, fail);
  const repository = name.slice(domain.length + 1);
  const resolvedTag = tag ?? (digest === undefined ? (options.defaultTag ?? DEFAULT_TAG) : undefined);
  return { registry: domain, repository, ...(resolvedTag !== undefined && { tag: resolvedTag }), ...(digest !== undefined && { digest }) };
}

/** Docker's splitDockerDomain: the first component is a registry only if it looks like a host. */
function splitDockerDomain(text: string): [string, string] {
  const slash = text.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = text.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DOCKER_HUB;
    remainder = text;
  } else {
    domain = first;
    remainder = text.slice(slash + 1);
  }
  if (domain === DOCKER_HUB_INDEX) domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !remainder.includes('/')) remainder = `library/${remainder}`;
  return [domain, remainder];
}

function explainFormatError(text: string, remainder: string, fail: (why: string, hint?: string) => never): never {
  const at = remainder.indexOf('@');
  const beforeDigest = at < 0 ? remainder : remainder.slice(0, at);
  const colon = beforeDigest.lastIndexOf(':');
  if (colon >= 0 && !beforeDigest.slice(colon).includes('/')) {
    const tag = beforeDigest.slice(colon + 1);
    if (tag.length > 128) fail(`tag "${tag.slice(0, 20)}…" is longer than 128 characters`);
    if (!tagRegexp.test(tag)) fail(`tag "${tag}" may contain only letters, digits, "_", "." and "-", and must not start with "." or "-"`);
  }
  if (at >= 0) fail(`digest "${remainder.slice(at + 1)}" is not of the form "algorithm:hex"`);
  if (/\s/.test(text)) fail('it contains whitespace');
  if (text.endsWith('/') || text.includes('//')) fail('a path component is empty');
  return fail('invalid reference format', 'a reference looks like [registry[:port]/]name[:tag][@sha256:digest], with a lowercase name');
}

function validateDigest(digest: string, fail: (why: string) => never): void {
  const [algorithm, hex] = digest.split(':');
  const want = digestLengths[algorithm];
  if (want === undefined) fail(`unsupported digest algorithm "${algorithm}"`);
  if (hex.length !== want) fail(`invalid checksum digest length for ${algorithm} (want ${want} hex characters, got ${hex.length})`);
  if (!/^[0-9a-f]+$/.test(hex)) fail('invalid checksum digest format (hex must be lowercase)');
}

/** "docker.io/library/busybox:latest", "r/x@sha256:…", or "r/x:tag@sha256:…". */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** Docker's FamiliarString: "busybox:latest", "user/app:1". */
export function familiarReference(ref: Reference): string {
  let name = `${ref.registry}/${ref.repository}`;
  if (ref.registry === DOCKER_HUB) name = ref.repository.startsWith('library/') && ref.repository.split('/').length === 2 ? ref.repository.slice(8) : ref.repository;
  return `${name}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** "registry/repository" without tag or digest. */
export function repositoryName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** What to put after /manifests/: the digest when pinned, else the tag. */
export function manifestIdentifier(ref: Reference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/**
 * The one name a registry is known by in flags and lookups: Docker Hub's three names (`docker.io`,
 * `index.docker.io`, `registry-1.docker.io`) are `docker.io`; host names are case-insensitive.
 */
export function normalizeRegistryName(name: string): string {
  const lower = name.toLowerCase();
  return lower === DOCKER_HUB_INDEX || lower === DOCKER_HUB_API_HOST ? DOCKER_HUB : lower;
}

const registryHostRegexp = new RegExp(`^${domainAndPort}$`);

/** Whether `text` is a registry host as references use them ("host[:port]", "[v6]:port"). */
export function isRegistryHost(text: string): boolean {
  return registryHostRegexp.test(text);
}

/** Host (and port) requests go to. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

export function withDigest(ref: Reference, digest: string): Reference {
  return { registry: ref.registry, repository: ref.repository, digest };
}

export function withTag(ref: Reference, tag: string): Reference {
  if (!tagRegexp.test(tag)) throw new KilnError('INVALID_REFERENCE', `invalid tag "${tag}"`);
  return { registry: ref.registry, repository: ref.repository, tag };
}

/** Same registry+repository with another registry (mirrors, --registry-map) and an optional path prefix. */
export function withRegistry(ref: Reference, registry: string, repositoryPrefix = ''): Reference {
  return { ...ref, registry, repository: `${repositoryPrefix}${ref.repository}` };
}
