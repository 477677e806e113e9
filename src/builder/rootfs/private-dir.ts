/**
 * The `private-dir` stage filesystem (isolation namespace or chroot): every stage, and every image COPY
 * --from names, gets its own rootfs directory in the build's work dir, filled from its layers on first use.
 * RUN writes to an overlay upper dir (namespace) or is walked before and after (chroot).
 */
import fs from 'node:fs';
import type { LayerWriteOptions } from '../../fs/layer-writer.ts';
import type { SnapshotMode } from '../../fs/snapshot/walk.ts';
import type { TarEntry } from '../../fs/tar-entry.ts';
import type { Layer } from '../../image/types.ts';
import type { StageState } from '../state.ts';
import type { WorkDir } from '../work-dir.ts';
import { appendEntriesLayer, appendLayer, applyImageLayers, applyLayerBlob, pathEntries, treeLayer, type ExtractRetry } from './layers.ts';
import { finishSingleSnapshot, startSingleSnapshot, type SingleSnapshotStart } from './single-snapshot.ts';
import { loadSandbox, loadStepRunner } from '../lazy-modules.ts';
import type { StageFilesystem } from './stage-filesystem.ts';
import type { StepOutcome, StepSpec } from './step-snapshots.ts';

export interface PrivateDirConfig {
  work: WorkDir;
  layerOptions: LayerWriteOptions;
  /** Walk snapshots' comparison (chroot RUN steps, --single-snapshot). */
  snapshotMode: SnapshotMode;
  singleSnapshot: boolean;
  /** Paths (inside the rootfs) no snapshot holds: kernel filesystems, --ignore-path. */
  ignorePaths: readonly string[];
  /** --image-fs-extract-retry. */
  extractRetry?: ExtractRetry;
}

export class PrivateDirFilesystem implements StageFilesystem {
  readonly #config: PrivateDirConfig;
  readonly #building = new Set<StageState>();
  readonly #single = new Map<StageState, SingleSnapshotStart>();

  constructor(config: PrivateDirConfig) {
    this.#config = config;
  }

  beginStage(state: StageState): void {
    this.#building.add(state);
  }

  async rootfs(state: StageState): Promise<string> {
    if (state.rootfs) return state.rootfs;
    const dir = this.#config.work.newRootfs(state.stage.index);
    await applyImageLayers(dir, state.layers, this.#config.extractRetry);
    state.rootfs = dir;
    if (this.#config.singleSnapshot && this.#building.has(state)) {
      this.#single.set(state, startSingleSnapshot(state, dir, this.#config.ignorePaths, this.#config.snapshotMode));
    }
    return dir;
  }

  async commitLayer(state: StageState, changedPaths: readonly string[]): Promise<void> {
    const rootfs = await this.rootfs(state);
    if (this.#config.singleSnapshot) return;
    await appendEntriesLayer(state, pathEntries(rootfs, changedPaths), this.#config.layerOptions);
  }

  async commitTreeLayer(state: StageState, tree: string): Promise<void> {
    if (this.#config.singleSnapshot) {
      // The tree's files reach the stage's one layer through its rootfs.
      await applyTree(await this.rootfs(state), tree, this.#config.layerOptions);
      return;
    }
    const layer = await treeLayer(tree, this.#config.layerOptions);
    if (state.rootfs) await applyLayerBlob(state.rootfs, layer);
    await appendLayer(state, layer);
  }

  async applyLayer(state: StageState, layer: Layer): Promise<void> {
    if (state.rootfs) await applyLayerBlob(state.rootfs, layer);
    await appendLayer(state, layer);
  }

  async commitEntries(state: StageState, entries: readonly TarEntry[]): Promise<void> {
    if (this.#config.singleSnapshot) return;
    await appendEntriesLayer(state, entries, this.#config.layerOptions);
  }

  async runStep(state: StageState, spec: StepSpec, stepDir: string, ignore: readonly string[]): Promise<StepOutcome> {
    const rootfs = await this.rootfs(state);
    const all = [...ignore, ...this.#config.ignorePaths];
    const diff = !this.#config.singleSnapshot;
    const { runInOverlay, runWithWalk } = await loadStepRunner();
    const namespaced = spec.isolation === 'namespace' || spec.isolation === 'userns';
    // An overlay needs its upper dir on a filesystem that takes one (not a container's overlay root).
    if (namespaced && await (await loadSandbox()).overlayWorks(spec.isolation as 'namespace' | 'userns', stepDir)) {
      return runInOverlay(spec, rootfs, stepDir, all, diff);
    }
    return runWithWalk(spec, rootfs, all, this.#config.snapshotMode, diff);
  }

  async finishStage(state: StageState): Promise<void> {
    this.#building.delete(state);
    const start = this.#single.get(state);
    if (start === undefined || !state.rootfs) return;
    this.#single.delete(state);
    await finishSingleSnapshot(state, start, state.rootfs, this.#config.snapshotMode, this.#config.layerOptions);
  }

  close(): void {
    // The stage directories live in the work dir, which the executor removes.
  }
}

/** Applies a --link tree to a rootfs through a layer (same rules as any layer), then drops the tree. */
async function applyTree(rootfs: string, tree: string, layerOptions: LayerWriteOptions): Promise<void> {
  const layer = await treeLayer(tree, layerOptions);
  await applyLayerBlob(rootfs, layer);
  fs.rmSync(tree, { recursive: true, force: true });
}
