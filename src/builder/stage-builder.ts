/**
 * Builds one stage: its starting state (scratch, an earlier stage, an image), then each instruction in
 * order — ONBUILD triggers of the base first — with a step line per instruction. Each step yields a result
 * (run, or supplied by the layer cache: step-cache.ts decides) that is folded into the stage.
 */
import type { Timings } from '../log/timings.ts';
import type { StageInstruction } from '../dockerfile/instructions/index.ts';
import { resolveStageSource } from '../dockerfile/stage-graph.ts';
import { imageTriggers } from '../dockerfile/image-triggers.ts';
import { SCRATCH, type Stage } from '../dockerfile/stages.ts';
import { KilnError } from '../errors.ts';
import type { Layer, Platform } from '../image/types.ts';
import { hostPlatform, parsePlatform } from '../image/platform.ts';
import type { Logger } from '../log/logger.ts';
import { startStep } from '../log/steps.ts';
import { logLines } from '../log/line-writer.ts';
import { stateFromImage, stateFromScratch, stateFromStage } from './base-image.ts';
import { basePlatformWarning, checkRunnable } from './platform-check.ts';
import { checkHostTools } from './host-tools.ts';
import type { ImageSource } from './registry-source.ts';
import type { DispatchContext, RunSettings } from './dispatch-context.ts';
import { chainStart, layerSettings } from './cache-key.ts';
import { expandStep } from './dispatch.ts';
import type { BuildOptions } from './options.ts';
import type { StageFilesystem } from './rootfs/stage-filesystem.ts';
import type { StageState } from './state.ts';
import { resolveStep, takeAppendedLayer, type StepCache } from './step-cache.ts';
import { applyStepResult } from './step-result.ts';
import type { WorkDir } from './work-dir.ts';

export interface StageBuildEnv {
  options: BuildOptions;
  logger: Logger;
  work: WorkDir;
  /** Where stages' files live (private directories, or `/` in place). */
  filesystem: StageFilesystem;
  created: string;
  escapeToken: '\\' | '`';
  globalArgs: ReadonlyMap<string, string>;
  contextRoot: string;
  isContextPathIncluded(rel: string): boolean;
  /** Base images and COPY --from images. */
  images: ImageSource;
  run: RunSettings;
  /** Images named by COPY --from, as states with a rootfs, by reference. */
  copySourceImages: Map<string, Promise<StageState>>;
  /** Every stage of the Dockerfile (for COPY --from lookups). */
  stages: readonly Stage[];
  /** Stages built so far, by stage index. */
  states: Map<number, StageState>;
  stageCount: number;
  /** Totals per instruction kind, for kaniko's BENCHMARK_FILE. */
  timings: Timings;
  /** The layer cache (--cache with a cache repo), when the build uses one. */
  stepCache?: StepCache;
  /** The platform this pass builds for (one of --custom-platform's list); default: --custom-platform or the host's. */
  targetPlatform?: Platform;
  /** Told of every layer a step makes, as soon as it exists (early pushes). */
  onLayer?: (stage: Stage, layer: Layer) => void;
}

/** The stage's starting state and the base's ONBUILD triggers (a base stage's are in `stage.onbuildTriggers`). */
async function initialState(stage: Stage, env: StageBuildEnv): Promise<{ state: StageState; triggers: StageInstruction[] }> {
  if (stage.baseStage !== undefined) {
    const base = env.states.get(stage.baseStage);
    if (!base) throw new KilnError('DOCKERFILE_STAGE', `stage ${stage.baseName} was not built`, { location: stage.location });
    const state = stateFromStage(stage, base);
    return { state: base.cacheKey === undefined ? state : { ...state, cacheKey: base.cacheKey }, triggers: stage.onbuildTriggers };
  }
  const platform: Platform = stage.platform ?? targetPlatformOf(env);
  const settings = layerSettings(env.options);
  if (stage.baseName === SCRATCH) {
    const state = stateFromScratch(stage, platform);
    return { state: env.stepCache ? { ...state, cacheKey: chainStart('scratch', platform, settings) } : state, triggers: [] };
  }
  const image = await env.images.pull(stage.baseName, platform);
  const config = await image.configFile();
  const warning = basePlatformWarning(stage.baseName, platform, config);
  if (warning) env.logger.warn(`${stage.location.file}:${stage.location.line}: ${warning}`);
  const triggers = imageTriggers(config.config?.OnBuild, stage);
  checkHostTools(triggers);
  const state = await stateFromImage(stage, platform, image);
  return { state: env.stepCache ? { ...state, cacheKey: chainStart({ image: await image.digest() }, platform, settings) } : state, triggers };
}

/** The platform the build is for: this pass's, --custom-platform, else the host's. */
function targetPlatformOf(env: StageBuildEnv): Platform {
  if (env.targetPlatform) return env.targetPlatform;
  return env.options.platform ? parsePlatform(env.options.platform) : hostPlatform();
}

/** COPY --from=<image>: the image as a (never dispatched) stage state, pulled once per build. */
function imageState(name: string, env: StageBuildEnv): Promise<StageState> {
  let state = env.copySourceImages.get(name);
  if (!state) {
    const platform = targetPlatformOf(env);
    state = env.images.pull(name, platform).then((image) => stateFromImage(env.stages[0], platform, image));
    env.copySourceImages.set(name, state);
  }
  return state;
}

function dispatchContext(env: StageBuildEnv, logger: Logger): DispatchContext {
  return {
    escapeToken: env.escapeToken,
    buildArgs: env.options.buildArgs,
    globalArgs: env.globalArgs,
    contextRoot: env.contextRoot,
    isContextPathIncluded: env.isContextPathIncluded,
    async copySource(inst, reference) {
      const source = resolveStageSource(env.stages, reference, inst);
      if (source.kind === 'image') return { kind: 'stage', state: await imageState(source.name, env) };
      if (source.kind === 'scratch') return { kind: 'stage', state: stateFromScratch(env.stages[0], targetPlatformOf(env)) };
      const state = env.states.get(source.index);
      if (!state) {
        throw new KilnError('DOCKERFILE_STAGE', `cannot copy from stage ${JSON.stringify(reference)}, it needs to be defined before the current stage`, {
          location: { file: inst.location.file, line: inst.location.line, text: inst.location.text },
        });
      }
      return { kind: 'stage', state };
    },
    rootfs: (state) => env.filesystem.rootfs(state),
    editFiles: (state, edit) => takeAppendedLayer(state, () => env.filesystem.editFiles(state, edit)),
    readFiles: (state, read) => env.filesystem.readFiles(state, read),
    scratchDir: (state) => env.work.newRootfs(state.stage.index),
    commitEntries: (state, entries) => takeAppendedLayer(state, () => env.filesystem.commitEntries(state, entries)),
    runStep: async (state, spec, stepDir, ignore) => {
      checkRunnable(state.config);
      if (env.options.log.format !== 'json') return env.filesystem.runStep(state, spec, stepDir, ignore);
      // JSON logs: the step's output becomes log entries too, so every line stays JSON.
      const stdout = logLines(logger, 'stdout');
      const stderr = logLines(logger, 'stderr');
      try {
        return await env.filesystem.runStep(state, { ...spec, stdout, stderr }, stepDir, ignore);
      } finally {
        stdout.flush();
        stderr.flush();
      }
    },
    stepDir: () => env.work.newStepDir(),
    run: env.run,
    commitTreeLayer: (state, tree) => takeAppendedLayer(state, () => env.filesystem.commitTreeLayer(state, tree)),
    created: env.created,
    ...(env.options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: env.options.sourceDateEpoch }),
    logger,
  };
}

/** Errors from deeper layers (copy engine, registry) get the instruction's Dockerfile line. */
function withLocation(err: unknown, inst: StageInstruction): unknown {
  if (!(err instanceof KilnError) || err.location) return err;
  return new KilnError(err.code, err.message, {
    location: { file: inst.location.file, line: inst.location.line, text: inst.location.text },
    exitCode: err.exitCode,
    cause: err,
    ...(err.hint ? { hint: err.hint } : {}),
  });
}

export async function buildStage(stage: Stage, position: number, env: StageBuildEnv): Promise<StageState> {
  const logger = env.logger.child({ stage: stage.displayName });
  const { state, triggers } = await initialState(stage, env);
  env.filesystem.beginStage(state);
  const steps: StageInstruction[] = [...triggers, ...stage.instructions];
  const ctx = dispatchContext(env, logger);
  const total = steps.length + 1;
  startStep(logger, { stage: position, stages: env.stageCount, step: 1, steps: total, text: stage.location.text }, env.timings).done();
  for (const [i, inst] of steps.entries()) {
    env.run.signal?.throwIfAborted();
    const step = startStep(logger, { stage: position, stages: env.stageCount, step: i + 2, steps: total, text: inst.original }, env.timings);
    try {
      const outcome = await resolveStep(state, expandStep(state, inst, ctx), ctx, env.filesystem, env.stepCache, logger);
      await applyStepResult(state, outcome.result);
      if (outcome.result.layer) env.onLayer?.(stage, outcome.result.layer);
      if (outcome.key === undefined) delete state.cacheKey;
      else state.cacheKey = outcome.key;
      step.done(outcome.cached ? 'CACHED' : undefined);
    } catch (err) {
      step.failed(err instanceof Error ? err.message : String(err));
      throw withLocation(err, inst);
    }
  }
  await env.filesystem.finishStage(state);
  return state;
}
