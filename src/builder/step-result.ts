/**
 * A step as a value (DESIGN.md, "the build core's next shape"): what one instruction did to its stage —
 * config change, history entry, optional layer — applied to the stage by the pure image functions
 * (image/mutate). A step that ran and a step the layer cache supplied yield the same kind of value.
 */
import type { StageVars } from '../dockerfile/stage-vars.ts';
import { appendHistory, appendLayers, setAuthor, setConfig } from '../image/mutate.ts';
import { PartsImage } from '../image/parts-image.ts';
import { MediaType, type ContainerConfig, type History, type Image, type Layer } from '../image/types.ts';
import type { StageState } from './state.ts';

export interface StepResult {
  /** The container config after the step; undefined = unchanged. */
  config?: ContainerConfig;
  /** MAINTAINER's author. */
  author?: string;
  /** The step's history entry; undefined for ONBUILD (BuildKit writes none). */
  history?: History;
  /** The step's layer; its diffID joins rootfs.diff_ids. */
  layer?: Layer;
  /** The variables after the step (ARG, ENV). */
  vars?: StageVars;
  /** CMD was set by this step (ENTRYPOINT then keeps it). */
  cmdSet?: boolean;
}

/** The stage's image so far, as an immutable view. */
function stageImage(state: StageState): Image {
  const config = state.config;
  const layers = [...state.layers];
  return new PartsImage(async () => ({ config, layers, manifestMediaType: MediaType.ociManifest, configMediaType: MediaType.ociConfig }));
}

/** Folds a step's result into its stage. */
export async function applyStepResult(state: StageState, result: StepResult): Promise<void> {
  let image = stageImage(state);
  if (result.config) image = setConfig(image, result.config);
  if (result.author !== undefined) image = setAuthor(image, result.author);
  if (result.layer) image = appendLayers(image, [{ layer: result.layer, ...(result.history ? { history: result.history } : {}) }]);
  else if (result.history) image = appendHistory(image, [result.history]);
  state.config = await image.configFile();
  state.layers = await image.layers();
  if (result.vars) state.vars = result.vars;
  if (result.cmdSet) state.cmdSet = true;
}
