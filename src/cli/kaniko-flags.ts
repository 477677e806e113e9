/**
 * The one table of `kiln build` / `kiln executor` flags: every flag of the kaniko executor
 * (cmd/executor/cmd/root.go, plus the few the maintained fork added), with kaniko's names, shorthands,
 * defaults and deprecated spellings, and Kiln's own additions. Parsing, `--help`, docs/flags.md and the
 * "not supported yet" checks all read this table, so a flag is described in exactly one place.
 */

/** How the value is read. `repeatable` flags keep every occurrence, in order, like kaniko's multiArg. */
export type FlagType = 'string' | 'bool' | 'int' | 'duration' | 'repeatable';

/**
 * - `supported`: parsed into BuildOptions and honoured.
 * - `later`: accepted, but using it (a value other than the default) fails with "not supported yet".
 * - `no-effect`: accepted for kaniko compatibility; Kiln's design makes it unnecessary (see `note`),
 *   and using it prints a notice instead of being silently ignored.
 */
export type FlagStatus = 'supported' | 'later' | 'no-effect';

export type FlagGroup = 'context' | 'output' | 'build' | 'cache' | 'registry' | 'logging' | 'kiln';

export interface FlagAlias {
  name: string;
  /** Deprecated spellings still work and print kaniko's deprecation warning. */
  deprecated: boolean;
}

export interface FlagSpec {
  name: string;
  short?: string;
  aliases?: FlagAlias[];
  type: FlagType;
  /** Default as kaniko prints it; repeatable flags default to no values. */
  default: string | boolean | number | undefined;
  /** Placeholder in help text, e.g. "DIR". */
  valueName?: string;
  /** Environment variable read when the flag is not given (repeatables: appended). */
  env?: string;
  help: string;
  status: FlagStatus;
  /** Why a flag is `no-effect`, or what part of it is still missing. */
  note?: string;
  group: FlagGroup;
  /** Not in kaniko's executor: a Kiln addition. */
  kilnOnly?: boolean;
  /** Hidden from `--help` (kaniko hides --bucket too), still listed in docs/flags.md. */
  hidden?: boolean;
}

/** Parts of supported flags whose implementation lands later; the builder flips these as features land. */
export const FEATURES = {
  /** Pushing to `--destination` registries (without `--no-push`). */
  registryPush: true,
  /** `--dockerfile https://…` */
  remoteDockerfile: true,
} as const;

const S = (spec: FlagSpec): FlagSpec => spec;

export const FLAGS: readonly FlagSpec[] = [
  // build context and Dockerfile
  S({ name: 'context', short: 'c', type: 'string', default: '/workspace/', valueName: 'PATH|URL', group: 'context', status: 'supported',
    help: 'Path to the build context: a directory (DIR or dir://DIR), tar://FILE.tar[.gz], tar://stdin, git://HOST/REPO.git[#REF[#COMMIT]] (or an http(s) URL ending in .git), s3://BUCKET/KEY, gs://BUCKET/KEY, or an Azure blob URL.' }),
  S({ name: 'context-sub-path', type: 'string', default: '', valueName: 'PATH', group: 'context', status: 'supported',
    help: 'Sub path within the given context.' }),
  S({ name: 'dockerfile', short: 'f', type: 'string', default: 'Dockerfile', valueName: 'PATH', group: 'context', status: 'supported',
    help: "Path to the Dockerfile to be built: absolute, or relative to the context (a relative --dockerfile that exists in the working directory is taken from there, as docker and kaniko do); '-' reads it from stdin; an http(s):// URL is downloaded." }),
  S({ name: 'bucket', short: 'b', type: 'string', default: '', valueName: 'NAME', group: 'context', status: 'supported', hidden: true,
    help: 'Name of the GCS bucket from which to access build context as tarball.' }),
  S({ name: 'git', type: 'string', default: '', valueName: 'OPTS', group: 'context', status: 'supported',
    help: 'Options for a git context: branch=NAME,single-branch=BOOL,recurse-submodules=BOOL,insecure-skip-tls=BOOL.',
    note: 'Kiln fetches only the ref it builds (shallow where the server allows), so single-branch changes nothing.' }),

  // outputs
  S({ name: 'destination', short: 'd', type: 'repeatable', default: undefined, valueName: 'IMAGE', group: 'output', status: 'supported',
    help: 'Registry the final image should be pushed to. Set it repeatedly for multiple destinations.' }),
  S({ name: 'no-push', type: 'bool', default: false, env: 'KANIKO_NO_PUSH', group: 'output', status: 'supported',
    help: 'Do not push the image to the registry.' }),
  S({ name: 'tar-path', aliases: [{ name: 'tarPath', deprecated: true }], type: 'string', default: '', valueName: 'FILE', group: 'output', status: 'supported',
    help: 'Path to save the image in as a tarball (docker archive) instead of pushing.' }),
  S({ name: 'oci-layout-path', type: 'string', default: '', valueName: 'DIR', group: 'output', status: 'supported',
    help: 'Path to save the OCI image layout of the built image.' }),
  S({ name: 'digest-file', type: 'string', default: '', valueName: 'FILE', group: 'output', status: 'supported',
    help: 'Specify a file to save the digest of the built image to.' }),
  S({ name: 'image-name-with-digest-file', type: 'string', default: '', valueName: 'FILE', group: 'output', status: 'supported',
    help: 'Specify a file to save the image name w/ digest of the built image to.' }),
  S({ name: 'image-name-tag-with-digest-file', type: 'string', default: '', valueName: 'FILE', group: 'output', status: 'supported',
    help: 'Specify a file to save the image name w/ image tag w/ digest of the built image to.' }),
  S({ name: 'compression', type: 'string', default: 'gzip', valueName: 'gzip|zstd', group: 'output', status: 'supported',
    help: 'Compression algorithm for layers (gzip, zstd).' }),
  S({ name: 'compression-level', type: 'int', default: -1, valueName: 'N', group: 'output', status: 'supported',
    help: 'Compression level (-1: the algorithm default; gzip 0-9, zstd 1-22).' }),
  S({ name: 'push-retry', type: 'int', default: 0, valueName: 'N', group: 'registry', status: 'supported',
    help: 'Number of retries for the push operation.' }),
  S({ name: 'push-ignore-immutable-tag-errors', type: 'bool', default: false, group: 'registry', status: 'supported',
    help: 'If true, known tag immutability errors are ignored and the push finishes with success.' }),
  S({ name: 'skip-push-permission-check', type: 'bool', default: false, group: 'registry', status: 'supported',
    help: 'Skip check of the push permission.' }),

  // image contents
  S({ name: 'build-arg', type: 'repeatable', default: undefined, valueName: 'KEY[=VALUE]', group: 'build', status: 'supported',
    help: 'ARG values at build time (KEY alone takes the value from the environment). Set it repeatedly for multiple values.' }),
  S({ name: 'target', type: 'string', default: '', valueName: 'STAGE', group: 'build', status: 'supported',
    help: 'Set the target build stage to build.' }),
  S({ name: 'label', type: 'repeatable', default: undefined, valueName: 'KEY=VALUE', group: 'build', status: 'supported',
    help: 'Set metadata for an image. Set it repeatedly for multiple labels.' }),
  S({ name: 'annotation', type: 'repeatable', default: undefined, valueName: 'KEY=VALUE', group: 'build', status: 'supported',
    help: 'Set metadata annotations for the image manifest. Set it repeatedly for multiple annotations.' }),
  S({ name: 'reproducible', type: 'bool', default: false, group: 'build', status: 'supported',
    help: 'Strip timestamps out of the image to make it reproducible (SOURCE_DATE_EPOCH, when set, gives the time).' }),
  S({ name: 'custom-platform', aliases: [{ name: 'customPlatform', deprecated: true }, { name: 'platform', deprecated: false }], type: 'string', default: '', valueName: 'OS/ARCH[/VARIANT][,...]', group: 'build', status: 'supported',
    help: 'Specify the build platform if different from the current host. A comma-separated list builds each platform and writes one image index (docs/multi-platform.md).' }),
  S({ name: 'skip-unused-stages', type: 'bool', default: false, group: 'build', status: 'supported',
    help: 'Build only the stages the target needs (otherwise every stage up to the target is built).' }),
  S({ name: 'single-snapshot', type: 'bool', default: false, group: 'build', status: 'supported',
    help: 'Take a single snapshot at the end of the build.' }),
  S({ name: 'snapshot-mode', aliases: [{ name: 'snapshotMode', deprecated: true }], type: 'string', default: 'full', valueName: 'full|redo|time', group: 'build', status: 'supported',
    help: 'Change the file attributes inspected during snapshotting (full, redo, time).',
    note: 'Applies to walk snapshots (isolation chroot and none, --single-snapshot); not given, walks compare stat data and inodes (redo). With an overlay (namespace) the upper dir is the diff.' }),
  S({ name: 'use-new-run', type: 'bool', default: false, group: 'build', status: 'no-effect',
    help: 'Use the experimental run implementation for detecting changes without requiring file system snapshots.',
    note: 'Kiln always detects RUN changes without a full filesystem rescan when mounts are allowed.' }),
  S({ name: 'ignore-var-run', aliases: [{ name: 'whitelist-var-run', deprecated: true }], type: 'bool', default: true, group: 'build', status: 'supported',
    help: 'Ignore /var/run directory when taking image snapshot. Set it to false to preserve /var/run/ in destination image.',
    note: 'In place (--isolation=none) only: a private rootfs holds the image\'s own /var/run, not the container\'s.' }),
  S({ name: 'ignore-path', type: 'repeatable', default: undefined, valueName: 'PATH', group: 'build', status: 'supported',
    help: 'Ignore these paths when taking a snapshot. Set it repeatedly for multiple paths.' }),
  S({ name: 'force-build-metadata', type: 'bool', default: false, group: 'build', status: 'supported',
    help: 'Force add metadata layers to build image.',
    note: 'As kaniko: every instruction of the build that made no layer (ENV, LABEL, a RUN that changed nothing, …) gets an empty one.' }),
  S({ name: 'image-fs-extract-retry', type: 'int', default: 0, valueName: 'N', group: 'build', status: 'supported',
    help: 'Number of retries for image FS extraction.' }),
  S({ name: 'preserve-context', type: 'bool', default: false, group: 'build', status: 'no-effect',
    help: 'Preserve the build context across stages (snapshot the filesystem before the build, restore it after each stage).',
    note: 'Kiln never deletes or extracts over the build context: stages have their own root directories, and in place (--isolation=none) the context is on the ignore list.' }),
  S({ name: 'materialize', type: 'bool', default: false, group: 'build', status: 'no-effect',
    help: 'Guarantee the final filesystem state matches the target even when every layer comes from the cache.',
    note: 'Every step of a Kiln build is applied to its stage\'s filesystem (in place: to /), so the final filesystem always is the target\'s.' }),
  S({ name: 'kaniko-dir', type: 'string', default: '/kaniko', valueName: 'DIR', env: 'KANIKO_DIR', group: 'build', status: 'supported',
    help: 'Path to the kaniko directory; takes precedence over the KANIKO_DIR environment variable.',
    note: 'As in kaniko, a directory other than /kaniko moves DOCKER_CONFIG to DIR/.docker.' }),
  S({ name: 'cleanup', type: 'bool', default: false, group: 'build', status: 'supported',
    help: 'Clean the filesystem at the end.',
    note: 'In place (--isolation=none) it empties / as kaniko does; otherwise every build has its own root filesystem directory, removed at the end anyway.' }),
  S({ name: 'force', type: 'bool', default: false, group: 'build', status: 'no-effect',
    help: 'Force building outside of a container.',
    note: 'Kiln never extracts images onto / of its own container, so it runs anywhere.' }),

  // cache
  S({ name: 'cache', type: 'bool', default: false, group: 'cache', status: 'supported', help: 'Use cache when building image.',
    note: 'The layer cache (--cache-repo, see docs/cache.md) and base images from --cache-dir (filled by kiln warm).' }),
  S({ name: 'cache-repo', type: 'string', default: '', valueName: 'REPO', group: 'cache', status: 'supported',
    help: "Repository to use as a cache (inferred from the destination otherwise); 'oci:PATH' writes an OCI layout." }),
  S({ name: 'cache-dir', type: 'string', default: '/cache', valueName: 'DIR', group: 'cache', status: 'supported',
    help: 'Specify a local directory to use as a cache (of base images): an OCI layout filled by kiln warm, read with --cache=true.' }),
  S({ name: 'cache-ttl', type: 'duration', default: '336h0m0s', valueName: 'DURATION', group: 'cache', status: 'supported',
    help: 'Cache timeout, a value with a unit, e.g. 6h. Defaults to two weeks.' }),
  S({ name: 'cache-copy-layers', type: 'bool', default: false, group: 'cache', status: 'supported', help: 'Caches copy layers.' }),
  S({ name: 'cache-run-layers', type: 'bool', default: true, group: 'cache', status: 'supported', help: 'Caches run layers.' }),
  S({ name: 'compressed-caching', type: 'bool', default: true, group: 'cache', status: 'no-effect',
    help: 'Compress the cached layers. Decreases build time, but increases memory usage.',
    note: 'Kiln streams layers and never holds one in memory; cache entries share the image layers\' compressed blobs (docs/cache.md).' }),
  S({ name: 'no-push-cache', type: 'bool', default: false, group: 'cache', status: 'supported',
    help: 'Do not push the cache layers to the registry.' }),

  // registries
  S({ name: 'insecure', type: 'bool', default: false, group: 'registry', status: 'supported', help: 'Push to insecure registry using plain HTTP.' }),
  S({ name: 'skip-tls-verify', type: 'bool', default: false, group: 'registry', status: 'supported', help: 'Push to insecure registry ignoring TLS verify.' }),
  S({ name: 'insecure-pull', type: 'bool', default: false, group: 'registry', status: 'supported', help: 'Pull from insecure registry using plain HTTP.' }),
  S({ name: 'skip-tls-verify-pull', type: 'bool', default: false, group: 'registry', status: 'supported', help: 'Pull from insecure registry ignoring TLS verify.' }),
  S({ name: 'insecure-registry', type: 'repeatable', default: undefined, valueName: 'REGISTRY', group: 'registry', status: 'supported',
    help: 'Insecure registry using plain HTTP to push and pull. Set it repeatedly for multiple registries.' }),
  S({ name: 'skip-tls-verify-registry', type: 'repeatable', default: undefined, valueName: 'REGISTRY', group: 'registry', status: 'supported',
    help: 'Insecure registry ignoring TLS verify to push and pull. Set it repeatedly for multiple registries.' }),
  S({ name: 'registry-certificate', type: 'repeatable', default: undefined, valueName: 'REGISTRY=CERT', group: 'registry', status: 'supported',
    help: 'Use the provided certificate for TLS communication with the given registry.' }),
  S({ name: 'registry-client-cert', type: 'repeatable', default: undefined, valueName: 'REGISTRY=CERT,KEY', group: 'registry', status: 'supported',
    help: 'Use the provided client certificate for mutual TLS (mTLS) communication with the given registry.' }),
  S({ name: 'registry-mirror', type: 'repeatable', default: undefined, valueName: 'MIRROR', env: 'KANIKO_REGISTRY_MIRROR', group: 'registry', status: 'supported',
    help: 'Registry mirror to use as pull-through cache instead of docker.io. Set it repeatedly for multiple mirrors.' }),
  S({ name: 'registry-map', type: 'repeatable', default: undefined, valueName: 'ORIG=NEW[;ORIG=NEW]', env: 'KANIKO_REGISTRY_MAP', group: 'registry', status: 'supported',
    help: 'Registry map of mirrors to use as pull-through cache instead of the original registry.' }),
  S({ name: 'skip-default-registry-fallback', type: 'bool', default: false, group: 'registry', status: 'supported',
    help: 'If an image is not found on any mirror, do not fall back to the default registry.' }),
  S({ name: 'image-download-retry', type: 'int', default: 0, valueName: 'N', group: 'registry', status: 'supported',
    help: 'Number of retries for downloading the remote image.' }),
  S({ name: 'registry-connect-timeout', type: 'duration', default: '30s', valueName: 'DURATION', env: 'KILN_REGISTRY_CONNECT_TIMEOUT', group: 'registry', status: 'supported', kilnOnly: true,
    help: 'How long to wait for a connection (TCP and TLS) to a registry before the attempt fails and is retried.' }),
  S({ name: 'registry-response-timeout', type: 'duration', default: '2m0s', valueName: 'DURATION', env: 'KILN_REGISTRY_RESPONSE_TIMEOUT', group: 'registry', status: 'supported', kilnOnly: true,
    help: "How long to wait for a registry's answer (status and headers) to a request." }),
  S({ name: 'registry-idle-timeout', type: 'duration', default: '1m0s', valueName: 'DURATION', env: 'KILN_REGISTRY_IDLE_TIMEOUT', group: 'registry', status: 'supported', kilnOnly: true,
    help: 'How long a response body (a blob download) may stall before the transfer fails and is resumed or retried.' }),
  S({ name: 'credential-helpers', type: 'repeatable', default: undefined, valueName: 'NAME', group: 'registry', status: 'supported',
    help: 'Credential helpers to use automatically (google, ecr, acr, gitlab). Set it repeatedly for multiple helpers, defaults to all; an empty value uses none.',
    note: 'Built in: google (gcr.io, *.gcr.io, *-docker.pkg.dev), ecr (*.dkr.ecr.*.amazonaws.com), acr (*.azurecr.io), for registries config.json gives no credentials for; config.json naming gcr, gcloud, ecr-login or acr-env uses them whatever this flag says. gitlab is accepted and has no effect.' }),

  // logging
  S({ name: 'verbosity', short: 'v', type: 'string', default: 'info', valueName: 'LEVEL', group: 'logging', status: 'supported',
    help: 'Log level (trace, debug, info, warn, error, fatal, panic).' }),
  S({ name: 'log-format', type: 'string', default: 'color', valueName: 'FORMAT', group: 'logging', status: 'supported',
    help: 'Log format (text, color, json).' }),
  S({ name: 'log-timestamp', type: 'bool', default: false, group: 'logging', status: 'supported',
    help: 'Timestamp in log output.' }),

  // Kiln's own
  S({ name: 'isolation', type: 'string', default: 'auto', valueName: 'MODE', group: 'kiln', status: 'supported', kilnOnly: true,
    help: 'How RUN steps are isolated: auto, namespace, userns (a user namespace, for root without CAP_SYS_ADMIN), chroot, or none (in place on /, like kaniko).' }),
  S({ name: 'secret', type: 'repeatable', default: undefined, valueName: 'id=ID[,src=PATH|,env=VAR]', group: 'kiln', status: 'supported', kilnOnly: true,
    help: 'A secret for RUN --mount=type=secret. Set it repeatedly for multiple secrets.' }),
  S({ name: 'base-image-source', type: 'repeatable', default: undefined, valueName: 'NAME=oci:DIR|docker-archive:FILE', group: 'kiln', status: 'supported', kilnOnly: true,
    help: 'Take the image NAME (as FROM or COPY --from write it; docker.io/library/ prefixes and :latest are implied as usual) from a local OCI layout (oci:DIR, or oci:DIR:REF for one of its ref names) or docker archive (docker-archive:FILE) instead of a registry. Set it repeatedly for several images.' }),
  S({ name: 'ssh', type: 'repeatable', default: undefined, valueName: 'default|ID[=PATH[,PATH]]', group: 'kiln', status: 'supported', kilnOnly: true,
    help: 'An SSH agent socket or keys for RUN --mount=type=ssh.' }),
];

/** Every spelling (long name, alias, shorthand) → its spec. Built once per call: the table is small. */
export function flagIndex(flags: readonly FlagSpec[] = FLAGS): { long: Map<string, FlagSpec>; short: Map<string, FlagSpec> } {
  const long = new Map<string, FlagSpec>();
  const short = new Map<string, FlagSpec>();
  for (const f of flags) {
    long.set(f.name, f);
    for (const a of f.aliases ?? []) long.set(a.name, f);
    if (f.short) short.set(f.short, f);
  }
  return { long, short };
}

export function findFlag(name: string): FlagSpec | undefined {
  return FLAGS.find((f) => f.name === name);
}
