/**
 * A step as a value (DESIGN.md, "the build core's next shape"): what one instruction did to its stage —
 * config change, history entry, optional layer — folded into the stage by applyStepResult. A step that ran and
 * a step the layer cache supplied yield the same kind of value.
 */
import type { StageVars } from '../dockerfile/stage-vars.ts';
import type { ContainerConfig, History, Layer } from '../image/types.ts';
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

/**
 * Folds a step's result into its stage. The stage owns its config (a deep copy is taken when the stage starts,
 * base-image.ts), so the result is applied in place: copying the config and its history at every step made a
 * Dockerfile of n instructions cost n² (the result itself stays a value; the cache stores it as it came).
 */
export async function applyStepResult(state: StageState, result: StepResult): Promise<void> {
  const config = state.config;
  if (result.config) config.config = result.config;
  if (result.author !== undefined) config.author = result.author;
  if (result.history) (config.history ??= []).push(result.history);
  if (result.layer) {
    const diffID = await result.layer.diffID();
    config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffID] };
    state.layers = [...state.layers, result.layer];
  }
  if (result.vars) state.vars = result.vars;
  if (result.cmdSet) state.cmdSet = true;
}
