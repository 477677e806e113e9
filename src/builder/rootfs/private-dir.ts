/**
 * The `private-dir` stage filesystem (isolation namespace or chroot): every stage, and every image COPY
 * --from names, gets its own rootfs directory in the build's work dir, filled from its layers on first use.
 * RUN writes to an overlay upper dir (namespace) or is walked before and after (chroot).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isKilnError } from '../../errors.ts';
import type { LayerStore } from '../../fs/layer-store.ts';
import type { LayerDir } from '../../fs/snapshot/lower-view.ts';
import { upperOpaqueDirs } from '../../fs/snapshot/overlay.ts';
import type { LayerWriteOptions } from '../../fs/layer-writer.ts';
import { removeSoon } from '../../fs/remove-soon.ts';
import type { SnapshotMode } from '../../fs/snapshot/walk.ts';
import type { TarEntry } from '../../fs/tar-entry.ts';
import type { Layer } from '../../image/types.ts';
import type { StageState } from '../state.ts';
import { removeInBackground, type WorkDir } from '../work-dir.ts';
import { appendEntriesLayer, appendLayer, applyImageLayers, applyLayerBlob, pathEntries, treeLayer, withExtractRetry, type ExtractRetry } from './layers.ts';
import { finishSingleSnapshot, startSingleSnapshot, type SingleSnapshotStart } from './single-snapshot.ts';
import { loadSandbox, loadStepRunner } from '../lazy-modules.ts';
import type { OverlayView } from './overlay-view.ts';
import { OverlayViewHolder } from './overlay-view-holder.ts';
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
  /**
   * The machine's layer store: when given, namespace-mode RUN steps run on a stack of layer dirs (the
   * store's, then earlier steps' upper dirs) and a stage is laid out in one directory only when something
   * else needs its files (COPY, WORKDIR, COPY --from, chroot steps).
   */
  store?: LayerStore;
  /** Debug lines (when a stage is laid out in one directory, and why views are not used). */
  debug?: (message: string) => void;
}

/** overlayfs takes at most 500 lower dirs; past this a stage is laid out in one directory instead. */
const MAX_STACK = 120;

/** A step's upper dir waiting for its layer: it belongs to the layer appended at index `index`. */
interface PendingLayerDir {
  index: number;
  dir: LayerDir;
}

export class PrivateDirFilesystem implements StageFilesystem {
  readonly #config: PrivateDirConfig;
  readonly #building = new Set<StageState>();
  readonly #single = new Map<StageState, SingleSnapshotStart>();
  /** Layer dirs of layers RUN steps made on a stack (the step's upper dir), never written again. */
  readonly #layerDirs = new WeakMap<Layer, LayerDir>();
  readonly #pending = new Map<StageState, PendingLayerDir>();
  /** Short links (work/l/N) to layer dirs, so a deep stack fits one page of mount options. */
  readonly #links = new Map<string, string>();
  /** Whether overlay views can be mounted here: unknown until the first one is tried. */
  #viewsWork: boolean | undefined;
  #closed = false;
  /** Mounts the build's overlay views (one process for all of them), started with the first view. */
  readonly #views = new OverlayViewHolder();

  constructor(config: PrivateDirConfig) {
    this.#config = config;
  }

  beginStage(state: StageState): void {
    this.#building.add(state);
  }

  async rootfs(state: StageState): Promise<string> {
    if (state.rootfs) return state.rootfs;
    const dir = this.#config.work.newRootfs(state.stage.index);
    this.#config.debug?.(`laying out ${state.layers.length} layer(s) in ${dir}`);
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

  async editFiles(state: StageState, edit: (root: string) => Promise<readonly string[]>): Promise<void> {
    const view = this.#config.singleSnapshot ? undefined : await this.#openView(state, true);
    if (view === undefined) {
      await this.commitLayer(state, await edit(await this.rootfs(state)));
      return;
    }
    const index = state.layers.length;
    try {
      await appendEntriesLayer(state, pathEntries(view.root, await edit(view.root)), this.#config.layerOptions);
    } finally {
      await view.close();
    }
    // What the overlay wrote is the new layer, in overlayfs's format: the next stack's topmost lower dir.
    const upper = view.upper!;
    if (state.layers.length > index) this.#layerDirs.set(state.layers[index], { dir: upper, opaque: new Set(upperOpaqueDirs(upper)) });
  }

  async readFiles<T>(state: StageState, read: (root: string) => Promise<T>): Promise<T> {
    const view = await this.#openView(state, false);
    if (view === undefined) return read(await this.rootfs(state));
    try {
      return await read(view.root);
    } finally {
      await view.close();
    }
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
    const all = [...ignore, ...this.#config.ignorePaths];
    const diff = !this.#config.singleSnapshot;
    const { runInOverlay, runInStack, runWithWalk } = await loadStepRunner();
    const namespaced = spec.isolation === 'namespace' || spec.isolation === 'userns';
    // An overlay needs its upper dir on a filesystem that takes one (not a container's overlay root).
    const overlay = namespaced && await (await loadSandbox()).overlayWorks(spec.isolation as 'namespace' | 'userns', stepDir);
    if (overlay && spec.isolation === 'namespace' && !state.rootfs && diff && this.#config.store) {
      const view = await this.#stack(state);
      if (view !== undefined) {
        const index = state.layers.length;
        const upper = await this.#config.work.newLayerDir();
        return runInStack(spec, { mount: view.map((l) => this.#link(l.dir)), view }, upper, stepDir, all, (dir) => {
          this.#pending.set(state, { index, dir });
        });
      }
    }
    const rootfs = await this.rootfs(state);
    if (overlay) return runInOverlay(spec, rootfs, stepDir, all, diff);
    return runWithWalk(spec, rootfs, all, this.#config.snapshotMode, diff);
  }

  async finishStage(state: StageState): Promise<void> {
    this.#building.delete(state);
    const start = this.#single.get(state);
    if (start === undefined || !state.rootfs) return;
    this.#single.delete(state);
    await finishSingleSnapshot(state, start, state.rootfs, this.#config.snapshotMode, this.#config.layerOptions);
  }

  startViews(): void {
    // Not once closed: a start-ahead (start-ahead.ts) may come after a build that failed fast.
    if (this.#closed || !this.#config.store || this.#viewsWork === false || this.#views.started) return;
    this.#views.start();
    void this.#views.running().then((pid) => {
      if (pid !== undefined) this.#config.debug?.(`overlay view holder started (pid ${pid})`);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    // The stage directories live in the work dir, which the executor removes; layers evicted from the store
    // are deleted off the exit path.
    if (this.#config.store) await removeInBackground(this.#config.store.close());
    // Views still open (a failed step) are unmounted before the work dir goes.
    await this.#views.close().catch((err: unknown) => this.#config.debug?.((err as Error).message));
  }

  /**
   * The stage's layers as layer dirs, topmost first, from the store or earlier steps' upper dirs; undefined
   * when the stack cannot be used (too deep, a layer overlayfs cannot express): the stage is then laid out.
   */
  async #stack(state: StageState): Promise<LayerDir[] | undefined> {
    const pending = this.#pending.get(state);
    if (pending !== undefined && state.layers.length > pending.index) {
      this.#layerDirs.set(state.layers[pending.index], pending.dir);
      this.#pending.delete(state);
    }
    if (this.#pending.has(state) || state.layers.length > MAX_STACK) return undefined;
    let dirs: LayerDir[];
    try {
      // In parallel: one layer downloads while another unpacks.
      dirs = await Promise.all(state.layers.map(async (layer) => this.#layerDirs.get(layer) ?? withExtractRetry(layer, this.#config.extractRetry,
        async () => this.#config.store!.get(await layer.diffID(), () => layer.uncompressed(), await layer.digest()),
        (err) => isKilnError(err) && err.code === 'LAYER_OVERLAY_UNSUPPORTED')));
    } catch (err) {
      if (isKilnError(err) && err.code === 'LAYER_OVERLAY_UNSUPPORTED') return undefined;
      throw err;
    }
    return dirs.reverse();
  }

  /**
   * The stage's files as a mounted overlay of its layer dirs (writable: with a fresh upper dir), when the stage
   * is not laid out and views work here; undefined otherwise (the caller lays the stage out).
   */
  async #openView(state: StageState, writable: boolean): Promise<(OverlayView & { upper?: string }) | undefined> {
    // A stage without layers (FROM scratch) is laid out for free: an empty directory beats a mount.
    if (state.rootfs || state.layers.length === 0 || !this.#config.store || this.#viewsWork === false) return undefined;
    // The holder starts (unless started ahead) while the stack's layers are found (or unpacked).
    this.startViews();
    const stack = await this.#stack(state);
    if (stack === undefined) return undefined;
    const work = this.#config.work;
    const rel = (dir: string): string => path.relative(work.root, dir);
    const lower = stack.map((l) => rel(this.#link(l.dir)));
    // overlayfs wants a lower dir, and two without an upper dir: an empty one fills in.
    if (lower.length < (writable ? 1 : 2)) lower.push(rel(this.#emptyDir()));
    const stepDir = work.newStepDir();
    const upper = writable ? await work.newLayerDir() : undefined;
    fs.mkdirSync(path.join(stepDir, 'work'));
    fs.mkdirSync(path.join(stepDir, 'mnt'));
    try {
      const view = await this.#views.mount({
        base: work.root, lower, mountPoint: path.join(stepDir, 'mnt'),
        ...(upper === undefined ? {} : { upper: rel(upper), work: rel(path.join(stepDir, 'work')) }),
      });
      this.#viewsWork = true;
      return {
        root: view.root,
        ...(upper === undefined ? {} : { upper }),
        close: async () => {
          await view.close();
          removeSoon(stepDir);
        },
      };
    } catch (err) {
      fs.rmSync(stepDir, { recursive: true, force: true });
      if (upper !== undefined) fs.rmSync(upper, { recursive: true, force: true });
      if (this.#viewsWork === true) throw err;
      // Not here (no CAP_SYS_ADMIN, no overlayfs on this filesystem): stages are laid out, as before.
      this.#viewsWork = false;
      this.#config.debug?.(`overlay views unavailable, stages are laid out in directories: ${(err as Error).message}`);
      return undefined;
    }
  }

  #emptyDir(): string {
    const dir = path.join(this.#config.work.root, 'empty');
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  #link(dir: string): string {
    let link = this.#links.get(dir);
    if (link === undefined) {
      const links = path.join(this.#config.work.root, 'l');
      fs.mkdirSync(links, { recursive: true });
      link = path.join(links, String(this.#links.size));
      fs.symlinkSync(dir, link);
      this.#links.set(dir, link);
    }
    return link;
  }
}

/** Applies a --link tree to a rootfs through a layer (same rules as any layer), then drops the tree. */
async function applyTree(rootfs: string, tree: string, layerOptions: LayerWriteOptions): Promise<void> {
  const layer = await treeLayer(tree, layerOptions);
  await applyLayerBlob(rootfs, layer);
  fs.rmSync(tree, { recursive: true, force: true });
}
