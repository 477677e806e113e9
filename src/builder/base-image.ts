/**
 * The image a stage starts from: scratch (BuildKit's emptyImage), an earlier stage, or an image from a
 * registry. Registry pulls land with the registry issue; until then such a FROM fails clearly.
 */
import type { Stage } from '../dockerfile/stages.ts';
import type { ConfigFile, Image, Platform } from '../image/types.ts';
import { DEFAULT_PATH, initialStageVars, withDefaultPath } from '../dockerfile/stage-vars.ts';
import type { StageState } from './state.ts';

export function emptyConfig(platform: Platform): ConfigFile {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [] },
  };
}

/** BuildKit makes sure PATH is always set when a stage starts. */
function withPath(config: ConfigFile): ConfigFile {
  return { ...config, config: { ...config.config, Env: withDefaultPath(config.config.Env ?? []) } };
}

export function stateFromScratch(stage: Stage, platform: Platform): StageState {
  const config = emptyConfig(platform);
  return { stage, platform, config, layers: [], vars: initialStageVars(config.config.Env ?? []), cmdSet: false };
}

/** A stage built FROM an earlier stage inherits its image, variables and ARGs, but not its ONBUILD list. */
export function stateFromStage(stage: Stage, base: StageState): StageState {
  const config: ConfigFile = structuredClone(base.config);
  config.config.OnBuild = null;
  delete config.config.OnBuild;
  return {
    stage,
    platform: base.platform,
    config: withPath(config),
    layers: [...base.layers],
    vars: base.vars,
    cmdSet: false,
  };
}

/** A stage built FROM an image: its config (ONBUILD triggers consumed), layers, and Env as variables. */
export async function stateFromImage(stage: Stage, platform: Platform, image: Image): Promise<StageState> {
  const config = withPath(structuredClone(await image.configFile()));
  delete config.config.OnBuild;
  return {
    stage,
    platform,
    config,
    layers: await image.layers(),
    vars: initialStageVars(config.config.Env ?? []),
    cmdSet: false,
  };
}
