/**
 * Where a stage's files live while it is built, behind one interface (the rootfs strategy):
 * - `private-dir` (isolation namespace/chroot): each stage gets its own directory in the build's work dir;
 * - `in-place` (isolation none, kaniko's model): the stage being built IS `/` of the container Kiln runs in.
 * Instruction handlers see it through DispatchContext; the stage builder brackets each stage with
 * beginStage/finishStage; the executor closes it when the build ends.
 */
import type { TarEntry } from '../../fs/tar-entry.ts';
import type { Layer } from '../../image/types.ts';
import type { StageState } from '../state.ts';
import type { StepOutcome, StepSpec } from './step-snapshots.ts';

export interface StageFilesystem {
  /** A stage starts: its files are laid out on first use (rootfs). */
  beginStage(state: StageState): void;
  /**
   * Directory holding the state's files, filled from its layers on first use: the stage being built (`/` in
   * place), an earlier stage or an image (COPY --from, RUN --mount from=; always a private directory).
   */
  rootfs(state: StageState): Promise<string>;
  /**
   * Lets `edit` write into the stage's files (COPY, ADD, WORKDIR), then appends a layer of the paths it
   * returns (absolute inside the root it was given). The root may be a view of the stage's layers rather
   * than a laid-out rootfs: valid only while `edit` runs.
   */
  editFiles(state: StageState, edit: (root: string) => Promise<readonly string[]>): Promise<void>;
  /** Lets `read` read the state's files (COPY --from); the root is valid only while `read` runs. */
  readFiles<T>(state: StageState, read: (root: string) => Promise<T>): Promise<T>;
  /** A whole tree (COPY --link) as a layer, appended and applied to the stage's files if laid out. */
  commitTreeLayer(state: StageState, tree: string): Promise<void>;
  /**
   * A ready layer (from the layer cache), appended, and its files laid into the stage's rootfs if that is
   * laid out already — exactly what running the step would have left there.
   */
  applyLayer(state: StageState, layer: Layer): Promise<void>;
  /** A layer of prepared entries (a RUN's snapshot), appended. */
  commitEntries(state: StageState, entries: readonly TarEntry[]): Promise<void>;
  /** Runs a RUN step on the stage's files; `ignore` holds paths (inside the root) its diff leaves out. */
  runStep(state: StageState, spec: StepSpec, stepDir: string, ignore: readonly string[]): Promise<StepOutcome>;
  /** The stage's instructions are done (--single-snapshot: its one layer). */
  finishStage(state: StageState): Promise<void>;
  /** COPY, ADD or WORKDIR will come: start what their overlay views need now, beside the base pull (a hint). */
  startViews(): void;
  /**
   * The build is over (in place with --cleanup: the build's files leave `/`; the overlay view holder ends).
   * Runs even after a failure; never rejects.
   */
  close(): Promise<void>;
}
