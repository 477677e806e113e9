/**
 * The state of one stage while its instructions are dispatched (BuildKit's dispatchState): the image
 * config being built, its layers, the variables instructions expand against, and the stage's rootfs
 * directory once something needs files.
 */
import type { StageVars } from '../dockerfile/stage-vars.ts';
import type { Stage } from '../dockerfile/stages.ts';
import type { ConfigFile, Layer, Platform } from '../image/types.ts';

export interface StageState {
  stage: Stage;
  platform: Platform;
  /** The image config as it grows; history and diff_ids included. */
  config: ConfigFile;
  layers: Layer[];
  /** What `$VAR` expands to (image ENV, then ARG and ENV values in order) and the ARGs declared so far. */
  vars: StageVars;
  /** Host directory holding the stage's filesystem; undefined until first needed. */
  rootfs?: string;
  /** Whether this stage's CMD was set by the Dockerfile (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  /** With the layer cache: the key of the last step (or of the base), which the next step's key extends. */
  cacheKey?: string;
  /** `vars.env` once this stage owns it (see ownVarsEnv). */
  ownedVarsEnv?: Map<string, string>;
  /** Where each key sits in `config.config.Env` (valid while `env` is that very array). */
  envIndex?: { env: string[]; positions: Map<string, number> };
}

/*
 * A stage owns its config (a deep copy is made when the stage starts, base-image.ts), so step results are
 * folded into it in place (step-result.ts): copying the history, Env, Labels and variables at every step made
 * a Dockerfile of n LABEL or ENV lines take time quadratic in n. Copy what you keep past a step.
 */

/** The stage's own expansion environment, copied once (a stage built FROM another starts with its parent's). */
export function ownVarsEnv(state: StageState): Map<string, string> {
  if (state.ownedVarsEnv === undefined || state.ownedVarsEnv !== state.vars.env) {
    state.ownedVarsEnv = new Map(state.vars.env);
    state.vars = { ...state.vars, env: state.ownedVarsEnv };
  }
  return state.ownedVarsEnv;
}

/** Sets `key=value` in the config's Env in place, keeping the position of an existing key (BuildKit's addEnv). */
export function setConfigEnv(state: StageState, key: string, value: string): void {
  const env = (state.config.config.Env ??= []);
  if (state.envIndex?.env !== env) {
    const positions = new Map<string, number>();
    env.forEach((entry, i) => {
      const name = entry.split('=', 1)[0];
      if (!positions.has(name)) positions.set(name, i);
    });
    state.envIndex = { env, positions };
  }
  const at = state.envIndex.positions.get(key);
  if (at === undefined) {
    state.envIndex.positions.set(key, env.length);
    env.push(`${key}=${value}`);
  } else env[at] = `${key}=${value}`;
}
