/**
 * The platform a stage really has versus the one asked for, and the one place that decides whether RUN steps
 * can execute for a platform: BuildKit builds on a base image of another platform with a warning, and a RUN
 * can only run binaries the host executes, natively or through a binfmt_misc emulator with the F flag
 * (src/builder/emulation.ts says which).
 */
import type { Stage } from '../dockerfile/stages.ts';
import { formatPlatform, hostPlatform, normalizePlatform, platformMatches } from '../image/platform.ts';
import type { ConfigFile, Platform } from '../image/types.ts';
import { emulationError, executionSupport, readBinfmtState, type BinfmtState } from './emulation.ts';

/** The platform an image's config says its binaries are for. */
export function configPlatform(config: ConfigFile): Platform {
  return normalizePlatform({ os: config.os || 'linux', architecture: config.architecture || 'amd64', ...(config.variant ? { variant: config.variant } : {}) });
}

/** BuildKit's InvalidBaseImagePlatform warning, when the base is not of the platform asked for. */
export function basePlatformWarning(name: string, wanted: Platform, config: ConfigFile): string | undefined {
  const actual = configPlatform(config);
  if (platformMatches(wanted, actual)) return undefined;
  return `InvalidBaseImagePlatform: Base image ${name} was pulled with platform "${formatPlatform(actual)}", expected "${formatPlatform(wanted)}" for current build`;
}

/** Whether this host can execute binaries of `platform`: natively, or through an F-flag binfmt_misc emulator. */
export function canExecute(platform: Platform, host: Platform = hostPlatform(), binfmt: BinfmtState = readBinfmtState()): boolean {
  return executionSupport(normalizePlatform(platform), host, binfmt).kind !== 'unavailable';
}

/** Refuses RUN steps for `platform` when this host cannot execute them, with the command that fixes it. */
export function checkPlatformRunnable(platform: Platform, host: Platform = hostPlatform(), binfmt: BinfmtState = readBinfmtState()): void {
  const support = executionSupport(normalizePlatform(platform), host, binfmt);
  if (support.kind === 'unavailable') throw emulationError(normalizePlatform(platform), host, support.reason);
}

/** Refuses a RUN on an image whose binaries this host cannot execute (the image's config platform counts). */
export function checkRunnable(config: ConfigFile, host: Platform = hostPlatform(), binfmt?: BinfmtState): void {
  checkPlatformRunnable(configPlatform(config), host, binfmt);
}

/** The platform a stage runs on: its FROM --platform, its base stage's, else the build's target platform. */
export function stagePlatform(stage: Stage, stages: readonly Stage[], target: Platform): Platform {
  for (let s: Stage | undefined = stage; s; s = s.baseStage === undefined ? undefined : stages[s.baseStage]) {
    if (s.baseStage === undefined) return s.platform ?? target;
  }
  return target;
}

/**
 * Before any step: every stage to build that has RUN instructions must be runnable for its platform (a base
 * image's own ONBUILD RUN is checked again when it runs, against the image's config).
 */
export function checkStagesRunnable(stages: readonly Stage[], all: readonly Stage[], target: Platform, host: Platform = hostPlatform(), binfmt: BinfmtState = readBinfmtState()): void {
  for (const stage of stages) {
    if (![...stage.onbuildTriggers, ...stage.instructions].some((i) => i.kind === 'RUN')) continue;
    checkPlatformRunnable(stagePlatform(stage, all, target), host, binfmt);
  }
}
