/**
 * argv + environment → BuildOptions: checks every value (errors name the flag), resolves kaniko's defaults
 * and the context/Dockerfile paths, and refuses flags whose feature is not implemented yet.
 */
import { parseReference } from '../registry/reference.ts';
import { addRegistryMap, addRegistryMirror } from '../registry/options.ts';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.ts';
import type {
  BaseImageSourceSpec, BuildOptions, Compression, DockerfileSource, GitOptions, Isolation, RegistryFlags, SecretSpec, SshSpec,
} from '../builder/options.ts';
import { parseLogFormat, parseLogLevel } from '../log/levels.ts';
import { isContextKindSupported, parseContextSpec } from '../context/source.ts';
import { parseFlags, parseGoBool, parseGoDuration, usageError } from './flag-parser.ts';
import type { FlagValue, ParsedArgv, ParsedFlag } from './flag-parser.ts';
import { FEATURES } from './kaniko-flags.ts';
import { layerCacheNotice } from './layer-cache-notice.ts';

const KANIKO_DEFAULT_DIR = '/kaniko';

/** Parses `kiln build` arguments without building: what the tests and the command use. */
export function parseBuildArgv(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string = process.cwd()): BuildOptions {
  return resolveBuildOptions(parseFlags(argv, env), env, cwd);
}

class Flags {
  readonly #parsed: ParsedArgv;
  constructor(parsed: ParsedArgv) {
    this.#parsed = parsed;
  }
  get(name: string): ParsedFlag {
    const f = this.#parsed.flags.get(name);
    if (!f) throw new Error(`flag table has no --${name}`);
    return f;
  }
  str(name: string): string {
    return String(this.get(name).value);
  }
  opt(name: string): string | undefined {
    const v = this.str(name);
    return v === '' ? undefined : v;
  }
  bool(name: string): boolean {
    return this.get(name).value === true;
  }
  int(name: string): number {
    return Number(this.get(name).value);
  }
  list(name: string): string[] {
    const v = this.get(name).value;
    return Array.isArray(v) ? v : [];
  }
  /** How to name the flag in a message: as the user wrote it. */
  spelling(name: string): string {
    return this.get(name).spelling;
  }
}

function oneOf<T extends string>(flags: Flags, name: string, allowed: readonly T[]): T {
  const v = flags.str(name);
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw usageError(`invalid value "${v}" for ${flags.spelling(name)}: expected one of ${allowed.join(', ')}`);
}

function nonNegative(flags: Flags, name: string): number {
  const n = flags.int(name);
  if (n < 0) throw usageError(`invalid value "${n}" for ${flags.spelling(name)}: expected a number >= 0`);
  return n;
}

/** KEY=VALUE pairs, later keys replacing earlier ones, order of first appearance kept. */
function keyValues(flags: Flags, name: string, env?: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of flags.list(name)) {
    const eq = item.indexOf('=');
    if (eq === 0) throw usageError(`invalid value "${item}" for ${flags.spelling(name)}: the key is empty`);
    if (eq < 0) {
      if (!env) throw usageError(`invalid value "${item}" for ${flags.spelling(name)}: expected KEY=VALUE`);
      out.set(item, env[item] ?? '');
    } else {
      out.set(item.slice(0, eq), item.slice(eq + 1));
    }
  }
  return out;
}

function parseGit(flags: Flags): GitOptions {
  const git: GitOptions = { branch: '', singleBranch: false, recurseSubmodules: false, insecureSkipTls: false };
  const text = flags.str('git');
  if (text === '') return git;
  for (const part of text.split(',')) {
    const [key, value = ''] = part.split('=', 2);
    const b = parseGoBool(value);
    const bad = (): never => {
      throw usageError(`invalid value "${part}" in ${flags.spelling('git')}`, 'expected branch=NAME,single-branch=BOOL,recurse-submodules=BOOL,insecure-skip-tls=BOOL');
    };
    if (key === 'branch') git.branch = value;
    else if (key === 'single-branch' && b !== undefined) git.singleBranch = b;
    else if (key === 'recurse-submodules' && b !== undefined) git.recurseSubmodules = b;
    else if (key === 'insecure-skip-tls' && b !== undefined) git.insecureSkipTls = b;
    else bad();
  }
  return git;
}

function parseSecret(flags: Flags, item: string): SecretSpec {
  const fields = new Map<string, string>();
  for (const part of item.split(',')) {
    const eq = part.indexOf('=');
    fields.set(eq < 0 ? part : part.slice(0, eq), eq < 0 ? '' : part.slice(eq + 1));
  }
  const id = fields.get('id') ?? '';
  const src = fields.get('src') ?? fields.get('source');
  const envName = fields.get('env');
  const type = fields.get('type');
  const bad = (why: string): never => {
    throw usageError(`invalid value "${item}" for ${flags.spelling('secret')}: ${why}`, 'expected id=ID,src=PATH or id=ID,env=VAR');
  };
  if (id === '') bad('id is missing');
  if (type !== undefined && type !== 'file' && type !== 'env') bad(`unknown type "${type}"`);
  if (type === 'env' || (envName !== undefined && src === undefined)) {
    const name = envName ?? src ?? id;
    return { id, source: { kind: 'env', name } };
  }
  if (src === undefined || src === '') bad('src= or env= is missing');
  return { id, source: { kind: 'file', path: path.resolve(src as string) } };
}

function parseSsh(item: string): SshSpec {
  const eq = item.indexOf('=');
  if (eq < 0) return { id: item || 'default', paths: [] };
  return { id: item.slice(0, eq) || 'default', paths: item.slice(eq + 1).split(',').filter((p) => p !== '') };
}

function parseRegistry(flags: Flags, env: NodeJS.ProcessEnv): RegistryFlags {
  const pairs = (name: string): Array<[string, string]> =>
    flags.list(name).map((v) => {
      const eq = v.indexOf('=');
      if (eq <= 0 || eq === v.length - 1) throw usageError(`invalid value "${v}" for ${flags.spelling(name)}: expected REGISTRY=VALUE`);
      return [v.slice(0, eq), v.slice(eq + 1)];
    });
  const registryClientCerts: RegistryFlags['registryClientCerts'] = {};
  for (const [reg, files] of pairs('registry-client-cert')) {
    const [certFile, keyFile, ...rest] = files.split(',');
    if (!certFile || !keyFile || rest.length > 0) {
      throw usageError(`invalid value "${reg}=${files}" for ${flags.spelling('registry-client-cert')}: expected REGISTRY=CERTFILE,KEYFILE`);
    }
    registryClientCerts[reg] = { certFile, keyFile };
  }
  let registryMaps: Record<string, string[]> = {};
  for (const value of flags.list('registry-map')) {
    for (const kv of value.split(';').filter((s) => s !== '')) {
      const eq = kv.indexOf('=');
      if (eq <= 0 || eq === kv.length - 1) throw usageError(`invalid value "${value}" for ${flags.spelling('registry-map')}: expected ORIGINAL=MIRROR[;ORIGINAL=MIRROR]`);
      registryMaps = addRegistryMap(registryMaps, kv, flags.spelling('registry-map'));
    }
  }
  const mirrors = flags.list('registry-mirror');
  for (const m of mirrors) registryMaps = addRegistryMirror(registryMaps, m);
  const helpers = flags.get('credential-helpers');
  return {
    insecurePush: flags.bool('insecure'),
    insecurePull: flags.bool('insecure-pull'),
    skipTlsVerifyPush: flags.bool('skip-tls-verify'),
    skipTlsVerifyPull: flags.bool('skip-tls-verify-pull'),
    insecureRegistries: flags.list('insecure-registry'),
    skipTlsVerifyRegistries: flags.list('skip-tls-verify-registry'),
    registryCertificates: Object.fromEntries(pairs('registry-certificate')),
    registryClientCerts,
    registryMaps,
    registryMirrors: mirrors,
    skipDefaultRegistryFallback: flags.bool('skip-default-registry-fallback'),
    imageDownloadRetry: nonNegative(flags, 'image-download-retry'),
    pushRetry: nonNegative(flags, 'push-retry'),
    pushIgnoreImmutableTagErrors: flags.bool('push-ignore-immutable-tag-errors'),
    skipPushPermissionCheck: flags.bool('skip-push-permission-check'),
    timeouts: {
      connectMs: positiveDuration(flags, 'registry-connect-timeout'),
      responseMs: positiveDuration(flags, 'registry-response-timeout'),
      idleMs: positiveDuration(flags, 'registry-idle-timeout'),
    },
    credentialHelpers: helpers.source === 'default' ? undefined : credentialHelperNames(flags),
    dockerConfigDir: dockerConfigDir(flags, env),
  };
}

/** kaniko moves DOCKER_CONFIG along with a --kaniko-dir (or KANIKO_DIR) other than /kaniko: DIR/.docker. */
function dockerConfigDir(flags: Flags, env: NodeJS.ProcessEnv): string | undefined {
  const kanikoDir = flags.str('kaniko-dir');
  if (kanikoDir !== '' && path.resolve(kanikoDir) !== KANIKO_DEFAULT_DIR) return path.resolve(kanikoDir, '.docker');
  return env.DOCKER_CONFIG || undefined;
}

/** kaniko's `--credential-helpers` names; "" (alone) turns them all off. */
function credentialHelperNames(flags: Flags): string[] {
  const names = flags.list('credential-helpers').filter((h) => h !== '');
  for (const name of names) {
    if (!['google', 'ecr', 'acr', 'gitlab'].includes(name)) {
      throw usageError(`invalid value "${name}" for ${flags.spelling('credential-helpers')}: expected google, ecr, acr or gitlab`);
    }
  }
  return names;
}

function positiveDuration(flags: Flags, name: string): number {
  const ms = parseGoDuration(flags.str(name)) ?? 0;
  if (ms <= 0) throw usageError(`invalid value "${flags.str(name)}" for ${flags.spelling(name)}: the timeout must be longer than 0`);
  return ms;
}

/** `NAME=oci:DIR[:REF]` or `NAME=docker-archive:FILE`; a colon in DIR is kept when DIR exists as written. */
function parseBaseImageSource(flags: Flags, value: string, cwd: string): BaseImageSourceSpec {
  const bad = (why: string): never => {
    throw usageError(`invalid value "${value}" for ${flags.spelling('base-image-source')}: ${why}`, 'expected NAME=oci:DIR[:REF] or NAME=docker-archive:FILE');
  };
  const eq = value.indexOf('=');
  if (eq <= 0) bad('expected NAME=SOURCE');
  const name = value.slice(0, eq);
  try {
    parseReference(name);
  } catch (err) {
    bad(err instanceof Error ? err.message : String(err));
  }
  const source = value.slice(eq + 1);
  const colon = source.indexOf(':');
  const kind = source.slice(0, colon);
  const rest = source.slice(colon + 1);
  if (colon < 0 || (kind !== 'oci' && kind !== 'docker-archive')) bad('the source must start with oci: or docker-archive:');
  if (rest === '') bad('the path is empty');
  if (kind === 'docker-archive') return { name, kind, path: path.resolve(cwd, rest) };
  const last = rest.lastIndexOf(':');
  if (last > 0 && !fs.existsSync(path.resolve(cwd, rest))) {
    return { name, kind: 'oci', path: path.resolve(cwd, rest.slice(0, last)), refName: rest.slice(last + 1) };
  }
  return { name, kind: 'oci', path: path.resolve(cwd, rest) };
}

function isDefault(f: ParsedFlag): boolean {
  const v: FlagValue = f.value;
  if (Array.isArray(v)) return v.length === 0;
  if (f.spec.type === 'duration') return parseGoDuration(String(v)) === parseGoDuration(String(f.spec.default));
  return v === f.spec.default;
}

/** Flags set to something other than their default whose feature has not landed: refuse, never ignore. */
function refuseUnsupported(parsed: ParsedArgv, notices: string[]): void {
  for (const f of parsed.flags.values()) {
    if (isDefault(f)) continue;
    const named = f.source === 'env' ? `${f.spelling} (--${f.spec.name})` : f.spelling;
    if (f.spec.status === 'later') {
      throw new KilnError('FLAG_NOT_SUPPORTED', `${named} is not supported yet`, {
        exitCode: 2,
        hint: `remove ${f.spelling}; docs/flags.md lists the status of every flag`,
      });
    }
    if (f.spec.status === 'no-effect') notices.push(`${named} has no effect in Kiln: ${f.spec.note ?? ''}`.trim());
  }
}

function resolveDockerfile(flags: Flags, contextRoot: string | undefined, cwd: string): DockerfileSource {
  const given = flags.str('dockerfile');
  const spelling = flags.spelling('dockerfile');
  if (given === '') throw usageError(`${spelling} is empty`);
  if (given === '-') return { kind: 'stdin' };
  if (/^https?:\/\//i.test(given)) {
    if (!FEATURES.remoteDockerfile) {
      throw new KilnError('FLAG_NOT_SUPPORTED', `${spelling} ${given}: Dockerfiles from URLs are not supported yet`, { exitCode: 2 });
    }
    return { kind: 'url', url: given };
  }
  if (path.isAbsolute(given)) return { kind: 'file', path: given, relativeToContext: false, given };
  // Docker reads an explicit -f relative to the working directory, kaniko too when the file exists there;
  // otherwise (and always for the default) it is relative to the context.
  const explicit = flags.get('dockerfile').source === 'argv';
  const fromCwd = path.resolve(cwd, given);
  if (explicit && fs.statSync(fromCwd, { throwIfNoEntry: false })?.isFile()) {
    return { kind: 'file', path: fromCwd, relativeToContext: false, given };
  }
  if (contextRoot === undefined) return { kind: 'file', path: given, relativeToContext: true, given };
  const inContext = path.resolve(contextRoot, given);
  if (!fs.statSync(inContext, { throwIfNoEntry: false })?.isFile()) {
    throw new KilnError('DOCKERFILE_NOT_FOUND', `${spelling} ${given}: no such file in the context (${contextRoot}) or the working directory`, {
      exitCode: 2,
      hint: 'please provide a valid path to a Dockerfile within the build context with --dockerfile',
    });
  }
  return { kind: 'file', path: inContext, relativeToContext: false, given };
}

/** kaniko's --bucket NAME (gs:// unless it has a scheme) names the context when --context is not given. */
function contextSpec(flags: Flags): string {
  const bucket = flags.str('bucket');
  if (bucket === '' || flags.get('context').source !== 'default') return flags.str('context');
  return bucket.includes('://') ? bucket : `gs://${bucket}`;
}

function sourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) {
    throw usageError(`invalid SOURCE_DATE_EPOCH "${raw}": expected whole seconds since 1970-01-01`);
  }
  return Number(raw);
}

export function resolveBuildOptions(parsed: ParsedArgv, env: NodeJS.ProcessEnv, cwd: string): BuildOptions {
  const flags = new Flags(parsed);
  if (parsed.operands.length > 0) {
    throw usageError(`unexpected argument "${parsed.operands[0]}"`, 'kiln build takes flags only (boolean flags take a value as --flag=false)');
  }
  const notices = [...parsed.deprecations];

  // Values first, so a malformed value is reported even for a flag that is not supported yet.
  const log = {
    level: parseLogLevel(flags.str('verbosity'), flags.spelling('verbosity')),
    format: parseLogFormat(flags.str('log-format'), flags.spelling('log-format')),
    timestamp: flags.bool('log-timestamp'),
  };
  const compression = oneOf<Compression>(flags, 'compression', ['gzip', 'zstd']);
  const compressionLevel = flags.int('compression-level');
  const [lo, hi] = compression === 'gzip' ? [0, 9] : [1, 22];
  if (compressionLevel !== -1 && (compressionLevel < lo || compressionLevel > hi)) {
    throw usageError(`invalid value "${compressionLevel}" for ${flags.spelling('compression-level')}: ${compression} levels are ${lo}-${hi} (or -1)`);
  }
  const snapshotModeValue = oneOf<'full' | 'redo' | 'time'>(flags, 'snapshot-mode', ['full', 'redo', 'time']);
  // kaniko's default (full) hashes every file before each RUN: walks compare stat data unless asked to.
  const snapshotMode = flags.get('snapshot-mode').source === 'default' ? undefined : snapshotModeValue;
  const isolation = oneOf<Isolation>(flags, 'isolation', ['auto', 'namespace', 'userns', 'chroot', 'none']);
  const platform = flags.opt('custom-platform');
  if (platform !== undefined && !/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}(,[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2})*$/.test(platform)) {
    throw usageError(`invalid value "${platform}" for ${flags.spelling('custom-platform')}`, 'use os/arch[/variant], for example linux/amd64 or linux/arm/v7, or a comma-separated list of them');
  }
  const buildArgs = keyValues(flags, 'build-arg', env);
  const labels = keyValues(flags, 'label');
  const annotations = keyValues(flags, 'annotation');
  const git = parseGit(flags);
  const secrets = flags.list('secret').map((s) => parseSecret(flags, s));
  const ssh = flags.list('ssh').map(parseSsh);
  const registry = parseRegistry(flags, env);
  const baseImageSources = flags.list('base-image-source').map((v) => parseBaseImageSource(flags, v, cwd));
  const epoch = sourceDateEpoch(env);
  const imageFsExtractRetry = nonNegative(flags, 'image-fs-extract-retry');
  const target = flags.opt('target');

  refuseUnsupported(parsed, notices);

  const context = parseContextSpec(contextSpec(flags), flags.str('context-sub-path'), cwd);
  if (!isContextKindSupported(context)) {
    throw new KilnError('FLAG_NOT_SUPPORTED', `${flags.spelling('context')} ${flags.str('context')}: ${context.kind} build contexts are not supported yet`, {
      exitCode: 2,
      hint: 'use a local directory, dir://DIR, tar://FILE or tar://stdin',
    });
  }
  if (context.kind === 'dir' && !fs.statSync(context.path, { throwIfNoEntry: false })?.isDirectory()) {
    const which = flags.str('context-sub-path') === '' ? flags.spelling('context') : `${flags.spelling('context')} with --context-sub-path`;
    throw usageError(`${which}: ${context.path} is not a directory`);
  }
  if (context.kind === 'tar' && !fs.statSync(context.path, { throwIfNoEntry: false })?.isFile()) {
    throw usageError(`${flags.spelling('context')}: ${context.path} is not a file`);
  }
  const dockerfile = resolveDockerfile(flags, context.kind === 'dir' ? context.path : undefined, cwd);
  if (dockerfile.kind === 'stdin' && context.kind === 'stdin') {
    throw usageError('--context tar://stdin and --dockerfile - cannot both read standard input');
  }

  const destinations = flags.list('destination');
  const push = !flags.bool('no-push');
  if (push && destinations.length === 0) {
    throw usageError('you must provide --destination, or use --no-push');
  }
  for (const name of ['image-name-with-digest-file', 'image-name-tag-with-digest-file']) {
    if (flags.opt(name) !== undefined && destinations.length === 0) {
      throw usageError(`you must provide --destination if setting ${flags.spelling(name)}`);
    }
  }
  const cacheEnabled = flags.bool('cache');
  // kaniko's rule exists for its layer cache (whose repo comes from the destination). An explicit
  // --cache-dir asks for the base-image cache, which needs no repository.
  const cacheDirGiven = flags.get('cache-dir').source !== 'default';
  if (cacheEnabled && !push && flags.opt('cache-repo') === undefined && !cacheDirGiven) {
    throw usageError('if using cache with --no-push, specify cache repo with --cache-repo');
  }
  const cacheNotice = layerCacheNotice(cacheEnabled, flags.opt('cache-repo'), path.resolve(cwd, flags.str('cache-dir')));
  if (cacheNotice) notices.push(cacheNotice);
  const abs = (name: string): string | undefined => {
    const v = flags.opt(name);
    return v === undefined ? undefined : path.resolve(cwd, v);
  };
  const benchmark = env.BENCHMARK_FILE;

  return {
    context,
    dockerfile,
    target,
    buildArgs,
    labels,
    platform,
    skipUnusedStages: flags.bool('skip-unused-stages'),
    reproducible: flags.bool('reproducible'),
    sourceDateEpoch: epoch,
    singleSnapshot: flags.bool('single-snapshot'),
    ...(snapshotMode ? { snapshotMode } : {}),
    cleanup: flags.bool('cleanup'),
    ignoreVarRun: flags.bool('ignore-var-run'),
    ignorePaths: flags.list('ignore-path'),
    forceBuildMetadata: flags.bool('force-build-metadata'),
    preserveContext: flags.bool('preserve-context'),
    materialize: flags.bool('materialize'),
    imageFsExtractRetry,
    kanikoDir: path.resolve(cwd, flags.str('kaniko-dir')),
    git,
    isolation,
    secrets,
    ssh,
    output: {
      destinations,
      push,
      tarPath: abs('tar-path'),
      ociLayoutPath: abs('oci-layout-path'),
      digestFile: abs('digest-file'),
      imageNameWithDigestFile: abs('image-name-with-digest-file'),
      imageNameTagWithDigestFile: abs('image-name-tag-with-digest-file'),
      compression,
      compressionLevel,
      annotations,
    },
    cache: {
      enabled: cacheEnabled,
      repo: flags.opt('cache-repo'),
      dir: path.resolve(cwd, flags.str('cache-dir')),
      ttlMs: parseGoDuration(flags.str('cache-ttl')) ?? 0,
      copyLayers: flags.bool('cache-copy-layers'),
      runLayers: flags.bool('cache-run-layers'),
      compressed: flags.bool('compressed-caching'),
      pushLayers: !flags.bool('no-push-cache'),
    },
    registry,
    baseImageSources,
    log,
    benchmarkFile: benchmark && benchmark !== 'false' ? benchmark : undefined,
    notices,
  };
}
