/**
 * `--force-build-metadata`: kaniko snapshots after every instruction and keeps even an empty snapshot as a
 * layer, so metadata instructions (ENV, LABEL, CMD, …) and steps that changed nothing each get a layer of
 * their own. Applied to the finished stage: every history entry this build wrote with `empty_layer` gets an
 * empty layer at its place; the base image's entries stay as they were.
 */
import { SCRATCH, type Stage } from '../dockerfile/stages.ts';
import { writeLayer, type LayerWriteOptions } from '../fs/layer-writer.ts';
import type { ConfigFile, History, Layer } from '../image/types.ts';
import type { ImageSource } from './registry-source.ts';
import type { StageState } from './state.ts';

export interface StageImage {
  config: ConfigFile;
  layers: Layer[];
}

/** What the stage chain started from: the base image's history entries and layers (none for scratch). */
export interface BaseCounts {
  history: number;
  layers: number;
}

export async function forceMetadataLayers(stage: StageImage, base: BaseCounts, emptyLayer: Layer): Promise<StageImage> {
  const history = stage.config.history ?? [];
  const layers = stage.layers.slice(0, base.layers);
  const entries: History[] = history.slice(0, base.history);
  let next = base.layers;
  for (const entry of history.slice(base.history)) {
    if (entry.empty_layer) {
      const { empty_layer: _, ...kept } = entry;
      entries.push(kept);
      layers.push(emptyLayer);
    } else {
      entries.push(entry);
      layers.push(stage.layers[next++]);
    }
  }
  // Layers a history without entries for them still carries (images with no history) keep their place.
  layers.push(...stage.layers.slice(next));
  const diffIds = await Promise.all(layers.map((l) => l.diffID()));
  return { config: { ...stage.config, history: entries, rootfs: { type: 'layers', diff_ids: diffIds } }, layers };
}

export interface ForceInputs {
  stages: readonly Stage[];
  states: ReadonlyMap<number, StageState>;
  images: ImageSource;
  layerOptions: LayerWriteOptions;
}

/** The target stage's state with kaniko's forced metadata layers. */
export async function withForcedMetadataLayers(state: StageState, inputs: ForceInputs): Promise<StageState> {
  let root = state.stage;
  while (root.baseStage !== undefined) root = inputs.stages[root.baseStage];
  let base: BaseCounts = { history: 0, layers: 0 };
  if (root.baseName !== SCRATCH) {
    const rootPlatform = inputs.states.get(root.index)?.platform ?? state.platform;
    // The same name and platform the stage was built from: the image source hands back the pulled image.
    const image = await inputs.images.pull(root.baseName, rootPlatform);
    base = { history: (await image.configFile()).history?.length ?? 0, layers: (await image.layers()).length };
  }
  const emptyLayer = await writeLayer([], inputs.layerOptions);
  return { ...state, ...(await forceMetadataLayers(state, base, emptyLayer)) };
}
