/**
 * Builds one stage: its starting state (scratch, an earlier stage, an image), then each instruction in
 * order — ONBUILD triggers of the base first — with a step line per instruction.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { StageInstruction } from '../dockerfile/instructions/index.ts';
import { resolveStageSource } from '../dockerfile/stage-graph.ts';
import { SCRATCH, type Stage } from '../dockerfile/stages.ts';
import { KilnError } from '../errors.ts';
import { applyLayer } from '../fs/extract/apply-layer.ts';
import { directoryEntries } from '../fs/layer/directory-entries.ts';
import { writeLayer, type LayerWriteOptions } from '../fs/layer-writer.ts';
import { compressionOfMediaType, decompressor } from '../image/compression.ts';
import type { Layer, Platform } from '../image/types.ts';
import { parsePlatform } from '../image/platform.ts';
import type { Logger } from '../log/logger.ts';
import { startStep } from '../log/steps.ts';
import { stateFromImage, stateFromScratch, stateFromStage } from './base-image.ts';
import type { ImageSource } from './registry-source.ts';
import type { DispatchContext, RunSettings } from './dispatch-context.ts';
import { dispatchInstruction } from './dispatch.ts';
import type { BuildOptions } from './options.ts';
import type { StageState } from './state.ts';
import type { WorkDir } from './work-dir.ts';

export interface StageBuildEnv {
  options: BuildOptions;
  logger: Logger;
  work: WorkDir;
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
}

async function initialState(stage: Stage, env: StageBuildEnv): Promise<StageState> {
  if (stage.baseStage !== undefined) {
    const base = env.states.get(stage.baseStage);
    if (!base) throw new KilnError('DOCKERFILE_STAGE', `stage ${stage.baseName} was not built`, { location: stage.location });
    return stateFromStage(stage, base);
  }
  const platform: Platform = stage.platform ?? (env.options.platform ? parsePlatform(env.options.platform) : undefined) ?? hostPlatformOf(env);
  if (stage.baseName === SCRATCH) return stateFromScratch(stage, platform);
  return stateFromImage(stage, platform, await env.images.pull(stage.baseName, platform));
}

function hostPlatformOf(env: StageBuildEnv): Platform {
  return env.options.platform ? parsePlatform(env.options.platform) : parsePlatform(`linux/${process.arch === 'x64' ? 'amd64' : process.arch}`);
}

/** Fills a fresh rootfs from the stage's layers (its base's files), on first use. */
async function materialize(state: StageState, env: StageBuildEnv): Promise<string> {
  if (state.rootfs) return state.rootfs;
  const dir = env.work.newRootfs(state.stage.index);
  for (const layer of state.layers) await applyLayerBlob(dir, layer);
  state.rootfs = dir;
  return dir;
}

function layerWriteOptions(env: StageBuildEnv): LayerWriteOptions {
  return {
    store: env.work.blobs,
    compression: env.options.output.compression,
    ...(env.options.output.compressionLevel >= 0 ? { compressionLevel: env.options.output.compressionLevel } : {}),
    reproducible: env.options.reproducible,
    ...(env.options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: env.options.sourceDateEpoch }),
  };
}

async function appendLayer(state: StageState, layer: Layer): Promise<void> {
  state.layers.push(layer);
  state.config = { ...state.config, rootfs: { type: 'layers', diff_ids: [...state.config.rootfs.diff_ids, await layer.diffID()] } };
}

/** A layer of the given rootfs paths (absolute inside the rootfs) with their parent directories. */
async function commitLayer(state: StageState, changedPaths: readonly string[], env: StageBuildEnv): Promise<void> {
  const rootfs = await materialize(state, env);
  const rel = changedPaths.map((p) => p.replace(/^\/+/, '')).filter((p) => p !== '' && fs.existsSync(path.join(rootfs, p)));
  const entries = rel.length > 0 ? directoryEntries(rootfs, { paths: rel, xattrs: false }) : [];
  await appendLayer(state, await writeLayer(entries, layerWriteOptions(env)));
}

/** A layer of a whole tree (COPY --link); the rootfs, when it exists, gets the layer applied. */
async function commitTreeLayer(state: StageState, tree: string, env: StageBuildEnv): Promise<void> {
  const layer = await writeLayer(directoryEntries(tree, { xattrs: false }), layerWriteOptions(env));
  fs.rmSync(tree, { recursive: true, force: true });
  if (state.rootfs) await applyLayerBlob(state.rootfs, layer);
  await appendLayer(state, layer);
}

async function applyLayerBlob(rootfs: string, layer: Layer): Promise<void> {
  const compression = compressionOfMediaType(await layer.mediaType()) ?? 'none';
  const blob = await layer.compressed();
  await applyLayer(rootfs, compression === 'none' ? blob : blob.pipe(decompressor(compression)) as unknown as Readable);
}

/** COPY --from=<image>: the image as a (never dispatched) stage state, pulled once per build. */
function imageState(name: string, env: StageBuildEnv): Promise<StageState> {
  let state = env.copySourceImages.get(name);
  if (!state) {
    const platform = hostPlatformOf(env);
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
      if (source.kind === 'scratch') return { kind: 'stage', state: stateFromScratch(env.stages[0], hostPlatformOf(env)) };
      const state = env.states.get(source.index);
      if (!state) {
        throw new KilnError('DOCKERFILE_STAGE', `cannot copy from stage ${JSON.stringify(reference)}, it needs to be defined before the current stage`, {
          location: { file: inst.location.file, line: inst.location.line, text: inst.location.text },
        });
      }
      return { kind: 'stage', state };
    },
    rootfs: (state) => materialize(state, env),
    commitLayer: (state, paths) => commitLayer(state, paths, env),
    scratchDir: (state) => env.work.newRootfs(state.stage.index),
    commitEntries: async (state, entries) => appendLayer(state, await writeLayer([...entries], layerWriteOptions(env))),
    stepDir: () => env.work.newStepDir(),
    run: env.run,
    commitTreeLayer: (state, tree) => commitTreeLayer(state, tree, env),
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
  const state = await initialState(stage, env);
  const steps: StageInstruction[] = [...stage.onbuildTriggers, ...stage.instructions];
  const ctx = dispatchContext(env, logger);
  const total = steps.length + 1;
  startStep(logger, { stage: position, stages: env.stageCount, step: 1, steps: total, text: stage.location.text }).done();
  for (const [i, inst] of steps.entries()) {
    env.run.signal?.throwIfAborted();
    const step = startStep(logger, { stage: position, stages: env.stageCount, step: i + 2, steps: total, text: inst.original });
    try {
      await dispatchInstruction(state, inst, ctx);
      step.done();
    } catch (err) {
      step.failed(err instanceof Error ? err.message : String(err));
      throw withLocation(err, inst);
    }
  }
  return state;
}
