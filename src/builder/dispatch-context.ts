/** What instruction handlers need besides the stage they change: the build's shared, explicit state. */
import type { Instruction } from '../dockerfile/instructions/index.ts';
import type { TarEntry } from '../fs/tar-entry.ts';
import type { Layer } from '../image/types.ts';
import type { Logger } from '../log/logger.ts';
import type { ResolvedIsolation } from '../sandbox/types.ts';
import type { SecretSpec, SshSpec } from './options.ts';
import type { StepOutcome, StepSpec } from './rootfs/step-snapshots.ts';
import type { StageState } from './state.ts';

export interface DispatchContext {
  /** The Dockerfile's escape token, for expansion. */
  escapeToken: '\\' | '`';
  /** `--build-arg` values. */
  buildArgs: ReadonlyMap<string, string>;
  /** Meta ARG values and predefined args: what `ARG NAME` inside a stage inherits. */
  globalArgs: ReadonlyMap<string, string>;
  /** The build context directory and its .dockerignore filter (paths relative to the root, '/'-separated). */
  contextRoot: string;
  isContextPathIncluded(relPath: string): boolean;
  /** What COPY --from / a mount's from= names: a built stage, or an image pulled as a stage-like state. */
  copySource(inst: Instruction, reference: string): Promise<{ kind: 'stage'; state: StageState }>;
  /** The stage's root filesystem directory, created (and filled from its layers) on first use. */
  rootfs(state: StageState): Promise<string>;
  /**
   * Lets `edit` write into the stage's files, then writes a layer of the paths it returns (absolute inside the
   * root it was given) and returns it (see StageFilesystem.editFiles: the root is valid only during `edit`).
   */
  editFiles(state: StageState, edit: (root: string) => Promise<readonly string[]>): Promise<Layer | undefined>;
  /** Lets `read` read the state's files; the root is valid only while `read` runs. */
  readFiles<T>(state: StageState, read: (root: string) => Promise<T>): Promise<T>;
  /** A fresh empty directory (outside every rootfs) to build a --link layer in. */
  scratchDir(state: StageState): string;
  /** Writes the whole tree as a layer, applies it to the rootfs if that exists already, and returns it. */
  commitTreeLayer(state: StageState, tree: string): Promise<Layer | undefined>;
  /** Writes a layer of prepared entries (a RUN's snapshot) and returns it. */
  commitEntries(state: StageState, entries: readonly TarEntry[]): Promise<Layer | undefined>;
  /** Runs a RUN step on the stage's files (see StageFilesystem.runStep). */
  runStep(state: StageState, spec: StepSpec, stepDir: string, ignore: readonly string[]): Promise<StepOutcome>;
  /** A fresh private directory for one step, outside every rootfs; the caller removes it. */
  stepDir(): string;
  run: RunSettings;
  /** History `created` timestamp (RFC 3339). */
  created: string;
  sourceDateEpoch?: number;
  logger: Logger;
}

/** What RUN steps share across a build. */
export interface RunSettings {
  /** The isolation the sandbox uses (auto resolved once per build). */
  isolation(): Promise<ResolvedIsolation>;
  secrets: readonly SecretSpec[];
  ssh: readonly SshSpec[];
  /** Where `--mount=type=cache` dirs persist across builds. */
  cacheRoot: string;
  /** Proxy build args, given to RUN steps only. */
  proxies: ReadonlyMap<string, string>;
  /** Aborts the running step (SIGINT/SIGTERM to Kiln). */
  signal?: AbortSignal;
  /**
   * RUN steps still to come in this build, when counted (no layer cache: every RUN runs): a step that is not
   * the last has the next one's launcher started while it runs.
   */
  runsLeft?: { count: number };
}
