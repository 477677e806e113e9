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
}

/** `KEY=value` list entry update, keeping the position of an existing key (BuildKit's addEnv). */
export function setEnvEntry(env: readonly string[], key: string, value: string): string[] {
  const out = [...env];
  const index = out.findIndex((entry) => entry.split('=', 1)[0] === key);
  if (index >= 0) out[index] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}
