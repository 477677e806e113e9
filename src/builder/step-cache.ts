/**
 * The one place that decides, for every step, whether it runs or the layer cache supplies it — whatever
 * the isolation or snapshot mode, since both paths meet the stage only through the step's result and the
 * stage filesystem. Keys are computed for every step (the chain must see metadata steps and uncached
 * COPYs too); the probe goes on after a miss, since a key never depends on how the parent was obtained.
 */
import type { StageInstruction } from '../dockerfile/instructions/index.ts';
import type { LayerCache } from '../cache/layer-cache.ts';
import type { Layer } from '../image/types.ts';
import type { Logger } from '../log/logger.ts';
import { shortKey, stepKey, type KeyInputs } from './cache-key.ts';
import type { DispatchContext } from './dispatch-context.ts';
import { cacheableKind, cachedResult, dispatchInstruction } from './dispatch.ts';
import type { StageFilesystem } from './rootfs/stage-filesystem.ts';
import type { StageState } from './state.ts';
import type { StepResult } from './step-result.ts';

export interface CacheStats {
  hits: number;
  misses: number;
}

export interface StepCache {
  cache: LayerCache;
  /** --cache-run-layers, --cache-copy-layers */
  runLayers: boolean;
  copyLayers: boolean;
  stats: CacheStats;
}

export interface StepOutcome {
  result: StepResult;
  /** The step's key, when the build uses the layer cache. */
  key?: string;
  cached: boolean;
}

function cachedKinds(cache: StepCache): Set<string> {
  return new Set(['workdir', ...(cache.runLayers ? ['run'] : []), ...(cache.copyLayers ? ['copy'] : [])]);
}

/** Runs `action` (a stage filesystem call that appends a layer) and hands the layer back for the step result. */
export async function takeAppendedLayer(state: StageState, action: () => Promise<void>): Promise<Layer | undefined> {
  const count = state.layers.length;
  const config = state.config;
  await action();
  if (state.layers.length === count) return undefined;
  const layer = state.layers[state.layers.length - 1];
  state.layers = state.layers.slice(0, count);
  state.config = config;
  return layer;
}

async function keyOf(state: StageState, inst: StageInstruction, ctx: DispatchContext, logger: Logger): Promise<string | undefined> {
  if (state.cacheKey === undefined) return undefined;
  const inputs: KeyInputs = {
    contextRoot: ctx.contextRoot,
    isContextPathIncluded: ctx.isContextPathIncluded,
    sourceState: (from, reference) => ctx.copySource(from, reference).then((source) => source.state),
  };
  try {
    return await stepKey(state.cacheKey, inst, state, inputs);
  } catch (err) {
    logger.debug(`layer cache: no key for ${inst.kind} (${(err as Error).message}); the steps after it are not cached`);
    return undefined;
  }
}

export async function resolveStep(
  state: StageState, inst: StageInstruction, ctx: DispatchContext, filesystem: StageFilesystem, cache: StepCache | undefined, logger: Logger,
): Promise<StepOutcome> {
  const key = cache ? await keyOf(state, inst, ctx, logger) : undefined;
  const kind = cacheableKind(inst);
  const cached = cache !== undefined && key !== undefined && kind !== undefined && cachedKinds(cache).has(kind);
  if (cached) {
    const found = await cache.cache.lookup(key);
    if (found.kind === 'hit') {
      logger.debug(`layer cache: hit ${shortKey(key)} for ${inst.kind}`);
      cache.stats.hits++;
      const result = await cachedResult(state, inst, found.layer);
      await takeAppendedLayer(state, () => filesystem.applyLayer(state, found.layer));
      return { result, key, cached: true };
    }
    logger.debug(`layer cache: miss ${shortKey(key)} for ${inst.kind} (${found.reason})`);
    cache.stats.misses++;
  }
  const result = await dispatchInstruction(state, inst, ctx);
  if (cached && result.layer && result.history) {
    cache.cache.store(key, { layer: result.layer, history: result.history, platform: state.platform });
  }
  return { result, ...(key === undefined ? {} : { key }), cached: false };
}
