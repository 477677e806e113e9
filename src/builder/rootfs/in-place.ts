/**
 * The `in-place` stage filesystem (isolation none, kaniko's model): the stage being built IS the root
 * (`/` of the container Kiln runs in). Laying a stage out deletes the root's files and extracts the
 * stage's layers there (kaniko's DeleteFilesystem + GetFSFromImage), both sparing the ignore list; RUN
 * runs on `/` without isolation and is walked before and after. Earlier stages and images that COPY --from
 * or RUN --mount from= name get private directories in the work dir, rebuilt from their layers — kaniko
 * keeps them in KANIKO_DIR the same way, as files saved before the next stage replaces `/`.
 */
import type { LayerWriteOptions } from '../../fs/layer-writer.ts';
import type { SnapshotMode } from '../../fs/snapshot/walk.ts';
import type { TarEntry } from '../../fs/tar-entry.ts';
import type { Layer } from '../../image/types.ts';
import type { Logger } from '../../log/logger.ts';
import type { StageState } from '../state.ts';
import { deleteFilesystem } from './delete-filesystem.ts';
import type { IgnoreList } from './ignore-list.ts';
import { appendEntriesLayer, appendLayer, applyImageLayers, applyLayerBlob, pathEntries, treeLayer, type ExtractRetry } from './layers.ts';
import type { PrivateDirFilesystem } from './private-dir.ts';
import { finishSingleSnapshot, startSingleSnapshot, type SingleSnapshotStart } from './single-snapshot.ts';
import { loadStepRunner } from '../lazy-modules.ts';
import type { StageFilesystem } from './stage-filesystem.ts';
import type { StepOutcome, StepSpec } from './step-snapshots.ts';

export interface InPlaceConfig {
  /** The build's root: `/`. Tests give a scratch directory (RUN then refuses: none mode runs on / only). */
  root: string;
  ignore: IgnoreList;
  layerOptions: LayerWriteOptions;
  snapshotMode: SnapshotMode;
  singleSnapshot: boolean;
  /** --image-fs-extract-retry. */
  extractRetry?: ExtractRetry;
  /** --cleanup: empty the root when the build ends. */
  cleanup: boolean;
  /** Stages and images that are not on the root. */
  privateDirs: PrivateDirFilesystem;
  /** Checked before the first RUN: why RUN cannot work once `/` is replaced (no launcher), if so. */
  runProblem?: () => Error | undefined;
  logger: Logger;
}

export class InPlaceFilesystem implements StageFilesystem {
  readonly #config: InPlaceConfig;
  /** The stage being built. */
  #building: StageState | undefined;
  /** The stage whose files are on the root. */
  #onRoot: StageState | undefined;
  #single: SingleSnapshotStart | undefined;
  #touched = false;

  constructor(config: InPlaceConfig) {
    this.#config = config;
  }

  /** What walks of the root leave out. */
  get #walkIgnore(): readonly string[] {
    return this.#config.ignore.paths;
  }

  beginStage(state: StageState): void {
    this.#building = state;
  }

  async rootfs(state: StageState): Promise<string> {
    if (state !== this.#building) return this.#config.privateDirs.rootfs(state);
    if (this.#onRoot !== state) await this.#layOut(state);
    return this.#config.root;
  }

  async #layOut(state: StageState): Promise<void> {
    const { root, ignore, logger } = this.#config;
    this.#touched = true;
    this.#onRoot = undefined;
    const deleted = deleteFilesystem(root, ignore);
    logger.debug(`in place: deleted ${deleted.removed} paths of ${root}, kept ${deleted.kept} (ignore list: ${ignore.paths.join(' ')})`);
    await applyImageLayers(root, state.layers, this.#config.extractRetry, { protect: ignore });
    this.#onRoot = state;
    if (this.#config.singleSnapshot) {
      this.#single = startSingleSnapshot(state, root, this.#walkIgnore, this.#config.snapshotMode);
    }
  }

  async commitLayer(state: StageState, changedPaths: readonly string[]): Promise<void> {
    const root = await this.rootfs(state);
    if (this.#config.singleSnapshot) return;
    const keep = (rel: string) => !this.#config.ignore.isProtected('/' + rel);
    await appendEntriesLayer(state, pathEntries(root, changedPaths, keep), this.#config.layerOptions);
  }

  async editFiles(state: StageState, edit: (root: string) => Promise<readonly string[]>): Promise<void> {
    if (state !== this.#building) return this.#config.privateDirs.editFiles(state, edit);
    await this.commitLayer(state, await edit(await this.rootfs(state)));
  }

  async readFiles<T>(state: StageState, read: (root: string) => Promise<T>): Promise<T> {
    if (state !== this.#building) return this.#config.privateDirs.readFiles(state, read);
    return read(await this.rootfs(state));
  }

  async commitTreeLayer(state: StageState, tree: string): Promise<void> {
    const root = await this.rootfs(state);
    const layer = await treeLayer(tree, this.#config.layerOptions);
    await applyLayerBlob(root, layer, { protect: this.#config.ignore });
    if (!this.#config.singleSnapshot) await appendLayer(state, layer);
  }

  async applyLayer(state: StageState, layer: Layer): Promise<void> {
    if (state !== this.#building) return this.#config.privateDirs.applyLayer(state, layer);
    if (this.#onRoot === state) await applyLayerBlob(this.#config.root, layer, { protect: this.#config.ignore });
    await appendLayer(state, layer);
  }

  async commitEntries(state: StageState, entries: readonly TarEntry[]): Promise<void> {
    if (this.#config.singleSnapshot) return;
    await appendEntriesLayer(state, entries, this.#config.layerOptions);
  }

  async runStep(state: StageState, spec: StepSpec, _stepDir: string, ignore: readonly string[]): Promise<StepOutcome> {
    const root = await this.rootfs(state);
    const problem = this.#config.runProblem?.();
    if (problem !== undefined) throw problem;
    const { runWithWalk } = await loadStepRunner();
    return runWithWalk({ ...spec, isolation: 'none' }, root, [...ignore, ...this.#walkIgnore], this.#config.snapshotMode, !this.#config.singleSnapshot);
  }

  async finishStage(state: StageState): Promise<void> {
    if (this.#building === state) this.#building = undefined;
    const start = this.#single;
    this.#single = undefined;
    if (start === undefined || this.#onRoot !== state) return;
    await finishSingleSnapshot(state, start, this.#config.root, this.#config.snapshotMode, this.#config.layerOptions);
  }

  startViews(): void {
    // COPY writes to `/` itself; COPY --from reads through the private dirs (no views in place: no layer store).
    this.#config.privateDirs.startViews();
  }

  async close(): Promise<void> {
    await this.#config.privateDirs.close();
    if (!this.#config.cleanup || !this.#touched) return;
    try {
      const deleted = deleteFilesystem(this.#config.root, this.#config.ignore);
      this.#config.logger.debug(`in place: --cleanup deleted ${deleted.removed} paths`);
    } catch (err) {
      // Never hides the build's own outcome.
      this.#config.logger.warn(`--cleanup could not empty ${this.#config.root}: ${(err as Error).message}`);
    }
  }
}
