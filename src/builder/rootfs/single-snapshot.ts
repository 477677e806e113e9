/**
 * --single-snapshot (kaniko): no layer per instruction; the whole stage's change is one layer taken at its
 * end, from a walk record made when the stage's files were first laid out. The stage's history keeps an
 * entry per instruction: all become empty layers but the last one that changed files, which gets the layer.
 */
import { takeSnapshot, type FsSnapshot } from '../../fs/snapshot/stat-map.ts';
import { diffSnapshots, type SnapshotMode } from '../../fs/snapshot/walk.ts';
import type { LayerWriteOptions } from '../../fs/layer-writer.ts';
import type { StageState } from '../state.ts';
import { appendEntriesLayer } from './layers.ts';

export interface SingleSnapshotStart {
  before: FsSnapshot;
  /** Length of the stage's history when the record was taken. */
  historyStart: number;
}

export function startSingleSnapshot(state: StageState, rootfs: string, ignorePaths: readonly string[], mode: SnapshotMode): SingleSnapshotStart {
  return {
    before: takeSnapshot(rootfs, { ignorePaths, content: mode === 'full' }),
    historyStart: state.config.history?.length ?? 0,
  };
}

/** Writes the stage's one layer and fixes its history to match. */
export async function finishSingleSnapshot(
  state: StageState, start: SingleSnapshotStart, rootfs: string, mode: SnapshotMode, layerOptions: LayerWriteOptions,
): Promise<void> {
  const history = [...(state.config.history ?? [])];
  let last = -1;
  for (let i = start.historyStart; i < history.length; i++) {
    if (history[i].empty_layer) continue;
    last = i;
    history[i] = { ...history[i], empty_layer: true };
  }
  if (last < 0) return;
  const { empty_layer: _empty, ...withLayer } = history[last];
  history[last] = withLayer;
  state.config = { ...state.config, history };
  await appendEntriesLayer(state, diffSnapshots(start.before, rootfs, { mode }).entries, layerOptions);
}
