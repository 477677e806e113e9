/**
 * Everything a build needs to know from the command line and the environment, typed and with kaniko's
 * defaults resolved. The CLI (src/cli/build-options.ts) makes it; the executor consumes it. Paths are
 * absolute unless a comment says otherwise.
 */
import type { LogFormat, LogLevel } from '../log/levels.ts';

/** Where the build context comes from (`--context`, with `--context-sub-path` applied). */
export type ContextSource =
  | { kind: 'dir'; path: string }
  /** A local tar file (optionally gzip or zstd compressed), extracted to a temporary directory. */
  | { kind: 'tar'; path: string; subPath: string }
  /** `tar://stdin`: a tar stream on standard input. */
  | { kind: 'stdin'; subPath: string }
  /** Remote contexts; the URL is kept as given. */
  | { kind: 'git' | 's3' | 'gcs' | 'azure'; url: string; subPath: string };

export type DockerfileSource =
  /**
   * `relativeToContext: false`: `path` is absolute. `true`: `path` is relative to the context root and is
   * resolved once the context is materialised (tar and remote contexts).
   */
  | { kind: 'file'; path: string; relativeToContext: boolean; given: string }
  /** `--dockerfile -` */
  | { kind: 'stdin' }
  | { kind: 'url'; url: string };

export type Isolation = 'auto' | 'namespace' | 'userns' | 'chroot' | 'none';

export type Compression = 'gzip' | 'zstd';

export interface SecretSpec {
  id: string;
  source: { kind: 'file'; path: string } | { kind: 'env'; name: string };
}

export interface SshSpec {
  /** "default" unless named. */
  id: string;
  /** Agent socket or key files; empty = $SSH_AUTH_SOCK. */
  paths: string[];
}

export interface GitOptions {
  branch: string;
  singleBranch: boolean;
  recurseSubmodules: boolean;
  insecureSkipTls: boolean;
}

export interface OutputOptions {
  /** `--destination`, in order. Also name the image in `--tar-path` and the digest files. */
  destinations: string[];
  /** True unless `--no-push` (or KANIKO_NO_PUSH=true). */
  push: boolean;
  tarPath?: string;
  ociLayoutPath?: string;
  digestFile?: string;
  imageNameWithDigestFile?: string;
  imageNameTagWithDigestFile?: string;
  compression: Compression;
  /** -1: the algorithm's default. */
  compressionLevel: number;
  /** `--annotation`, manifest annotations in the order given (a later key replaces an earlier one). */
  annotations: Map<string, string>;
}

export interface CacheOptions {
  enabled: boolean;
  /** `--cache-repo`; "oci:PATH" means an OCI layout. */
  repo?: string;
  /** `--cache-dir`, the base-image cache (default /cache). */
  dir: string;
  ttlMs: number;
  copyLayers: boolean;
  runLayers: boolean;
  compressed: boolean;
  /** False with `--no-push-cache`. */
  pushLayers: boolean;
}

/** Registry flags, with the same field names as registry/options.ts RegistryOptions. */
export interface RegistryFlags {
  insecurePush: boolean;
  insecurePull: boolean;
  skipTlsVerifyPush: boolean;
  skipTlsVerifyPull: boolean;
  insecureRegistries: string[];
  skipTlsVerifyRegistries: string[];
  registryCertificates: Record<string, string>;
  registryClientCerts: Record<string, { certFile: string; keyFile: string }>;
  /** `--registry-map` plus `--registry-mirror` (mapped onto Docker Hub "index.docker.io"), in order. */
  registryMaps: Record<string, string[]>;
  /** `--registry-mirror` as given. */
  registryMirrors: string[];
  skipDefaultRegistryFallback: boolean;
  imageDownloadRetry: number;
  pushRetry: number;
  pushIgnoreImmutableTagErrors: boolean;
  skipPushPermissionCheck: boolean;
  /** `--registry-connect-timeout`, `--registry-response-timeout`, `--registry-idle-timeout`, in ms. */
  timeouts: { connectMs: number; responseMs: number; idleMs: number };
  /** `--credential-helpers`; undefined = kaniko's default (all). */
  credentialHelpers?: string[];
  /** $DOCKER_CONFIG: the directory holding config.json. */
  dockerConfigDir?: string;
}

/**
 * `--base-image-source NAME=oci:DIR[:REF]|docker-archive:FILE`: an image that FROM or COPY --from names,
 * read from disk instead of a registry.
 */
export interface BaseImageSourceSpec {
  /** The image name as given; matched against FROM / COPY --from names after Docker's normalisation. */
  name: string;
  kind: 'oci' | 'docker-archive';
  path: string;
  /** oci: the layout entry's `org.opencontainers.image.ref.name`; undefined = by platform. */
  refName?: string;
}

export interface LogOptions {
  level: LogLevel;
  format: LogFormat;
  timestamp: boolean;
}

export interface BuildOptions {
  context: ContextSource;
  dockerfile: DockerfileSource;
  /** `--target`; undefined = the last stage. */
  target?: string;
  /** `--build-arg`, in order; `KEY` alone took its value from the environment ("" when unset, as kaniko). */
  buildArgs: Map<string, string>;
  /** `--label`, in order. */
  labels: Map<string, string>;
  /** `--custom-platform` as given ("os/arch[/variant]"); undefined = the host platform. */
  platform?: string;
  skipUnusedStages: boolean;
  reproducible: boolean;
  /** $SOURCE_DATE_EPOCH in seconds, when set: the time clamped into layers and the config. */
  sourceDateEpoch?: number;
  singleSnapshot: boolean;
  /** `--snapshot-mode` when given: how walk snapshots compare (undefined = `redo`, stat data and inode). */
  snapshotMode?: 'full' | 'redo' | 'time';
  /** `--cleanup`: in place, empty `/` when the build ends. */
  cleanup: boolean;
  ignoreVarRun: boolean;
  ignorePaths: string[];
  forceBuildMetadata: boolean;
  preserveContext: boolean;
  materialize: boolean;
  imageFsExtractRetry: number;
  /** `--kaniko-dir` / $KANIKO_DIR: Kiln's own state directory. */
  kanikoDir: string;
  git: GitOptions;
  isolation: Isolation;
  secrets: SecretSpec[];
  ssh: SshSpec[];
  output: OutputOptions;
  cache: CacheOptions;
  registry: RegistryFlags;
  /** `--base-image-source`, in order (a later entry for the same name wins). */
  baseImageSources: BaseImageSourceSpec[];
  log: LogOptions;
  /** $BENCHMARK_FILE: where to write step timings as JSON (kaniko's); "false" or unset = none. */
  benchmarkFile?: string;
  /** Warnings for the user: deprecated spellings, flags that have no effect in Kiln. */
  notices: string[];
}
