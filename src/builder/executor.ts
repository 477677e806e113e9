/**
 * `kiln build`: context → Dockerfile → stages → image → outputs. Every build has its own work dir
 * (stage root filesystems, layer blobs), removed when the build ends, whatever happened.
 */
import { writeFileAtomic } from '../fs/write-file-atomic.ts';
import { Timings } from '../log/timings.ts';
import { loadDockerfile } from '../dockerfile/index.ts';
import type { Stage } from '../dockerfile/stages.ts';
import { openBuildContext } from '../context/build-context.ts';
import { KilnError } from '../errors.ts';
import { formatTime } from '../image/mutate.ts';
import { PartsImage } from '../image/parts-image.ts';
import { hostPlatform } from '../image/platform.ts';
import { MediaType, type Image, type Layer } from '../image/types.ts';
import type { Logger } from '../log/logger.ts';
import type { BuildOptions } from './options.ts';
import { writeOutputs } from './outputs.ts';
import { preparePush, type Pusher } from './push.ts';
import { registryImageSource, registryOptionsFrom } from './registry-source.ts';
import { createStageFilesystem } from './rootfs/create.ts';
import { layerWriteOptions } from './rootfs/layers.ts';
import { withForcedMetadataLayers } from './force-build-metadata.ts';
import type { StageFilesystem } from './rootfs/stage-filesystem.ts';
import { runSettings } from './run-settings.ts';
import { startAhead } from './start-ahead.ts';
import { buildStage, type StageBuildEnv } from './stage-builder.ts';
import type { StepCache } from './step-cache.ts';
import type { StageState } from './state.ts';
import { createWorkDir } from './work-dir.ts';
import { unusedBuildArgsWarning } from './unused-build-args.ts';
import { checkHostTools, stageInstructions } from './host-tools.ts';
import { buildImageIndex, targetPlatforms } from './multi-platform.ts';
import { checkStagesRunnable } from './platform-check.ts';

export interface BuildResult {
  digest: string;
}

/** kaniko builds every stage up to the target unless --skip-unused-stages; BuildKit only the needed ones. */
function stagesToBuild(all: readonly Stage[], needed: readonly Stage[], target: Stage, skipUnused: boolean): Stage[] {
  return skipUnused ? [...needed].sort((a, b) => a.index - b.index) : all.filter((s) => s.index <= target.index);
}

function createdTime(options: BuildOptions): string {
  if (options.sourceDateEpoch !== undefined) return formatTime(new Date(options.sourceDateEpoch * 1000));
  if (options.reproducible) return formatTime(new Date(0));
  return formatTime(new Date());
}

function finalImage(state: StageState, options: BuildOptions, created: string): Image {
  const config = structuredClone(state.config);
  if (options.labels.size > 0) config.config.Labels = { ...(config.config.Labels ?? {}), ...Object.fromEntries(options.labels) };
  config.created = created;
  const layers = [...state.layers];
  return new PartsImage(async () => ({
    config,
    layers,
    manifestMediaType: MediaType.ociManifest,
    configMediaType: MediaType.ociConfig,
    ...(options.output.annotations.size > 0 ? { annotations: Object.fromEntries(options.output.annotations) } : {}),
  }));
}

function checkOutputs(options: BuildOptions): void {
  const o = options.output;
  if (o.push && o.destinations.length === 0 && !o.ociLayoutPath && !o.tarPath) {
    throw new KilnError('FLAG_INVALID', 'no output: give --destination, or --no-push with --oci-layout-path or --tar-path', { exitCode: 2 });
  }
}

/** The layer cache of --cache (loaded only then), with kaniko's run/copy switches. */
async function openStepCache(options: BuildOptions, logger: Logger): Promise<StepCache | undefined> {
  if (!options.cache.enabled) return undefined;
  const { openLayerCache } = await import('../cache/open-layer-cache.ts');
  const c = options.cache;
  const flags = {
    enabled: true, ...(c.repo === undefined ? {} : { repo: c.repo }), ttlMs: c.ttlMs, pushLayers: c.pushLayers,
    singleSnapshot: options.singleSnapshot, destinations: options.output.destinations, push: options.output.push,
  };
  const cache = openLayerCache(flags, () => registryOptionsFrom(options, logger), logger);
  if (!cache) return undefined;
  logger.info(`layer cache: ${cache.name}${c.pushLayers ? '' : ' (read only: --no-push-cache)'}`);
  return { cache, runLayers: c.runLayers, copyLayers: c.copyLayers, stats: { hits: 0, misses: 0 } };
}

/** Offers the pusher each layer made by the target stage or a stage it is built FROM (its layers are the image's). */
function earlyPush(pusher: Pusher, target: Stage, stages: readonly Stage[]): (stage: Stage, layer: Layer) => void {
  const chain = new Set<number>();
  for (let s: Stage | undefined = target; s !== undefined; s = s.baseStage === undefined ? undefined : stages[s.baseStage]) chain.add(s.index);
  return (stage, layer) => {
    if (chain.has(stage.index)) pusher.offer(layer);
  };
}

/** kaniko's BENCHMARK_FILE: milliseconds per category, plus the layer cache's hits and misses. */
function benchmarkReport(timings: Timings, stepCache: StepCache | undefined): Record<string, number> {
  return { ...timings.toJSON(), ...(stepCache ? { 'Cache Hits': stepCache.stats.hits, 'Cache Misses': stepCache.stats.misses } : {}) };
}

export async function runBuild(options: BuildOptions, logger: Logger, control: { signal?: AbortSignal } = {}): Promise<BuildResult> {
  checkOutputs(options);
  // Destinations are checked before any work, so a refused push fails in seconds, not after the build.
  const pusher = await preparePush(options, logger, control.signal);
  const context = await openBuildContext(options.context, options.dockerfile, {
    stdin: process.stdin, git: options.git, logger, ...(control.signal ? { signal: control.signal } : {}),
  }).catch(async (err: unknown) => {
    await pusher?.close();
    throw err;
  });
  const work = createWorkDir();
  const images = registryImageSource(options, logger, work.blobs, control.signal);
  let filesystem: StageFilesystem | undefined;
  let stepCache: StepCache | undefined;
  let built = false;
  try {
    stepCache = await openStepCache(options, logger);
    filesystem = createStageFilesystem({ options, work, logger, contextRoot: context.root });
    const dockerfile = context.readDockerfile();
    const buildPlatform = hostPlatform();
    // One plan per target platform (--custom-platform a,b builds each: multi-platform.ts).
    const plans = targetPlatforms(options.platform, buildPlatform).map((targetPlatform) => {
      const graph = loadDockerfile(dockerfile.text, { file: dockerfile.displayName, buildArgs: options.buildArgs, target: options.target, targetPlatform, buildPlatform });
      return { targetPlatform, graph, stages: stagesToBuild(graph.stages, graph.neededStages, graph.target, options.skipUnusedStages) };
    });
    const { graph } = plans[0]!;
    for (const w of graph.warnings) logger.warn(`${dockerfile.displayName}:${w.line}: ${w.message}`);
    // Before any stage starts (in place: before / is emptied).
    for (const plan of plans) {
      checkHostTools(stageInstructions(plan.stages));
      checkStagesRunnable(plan.stages, plan.graph.stages, plan.targetPlatform);
    }
    const unusedArgs = unusedBuildArgsWarning(options.buildArgs, graph.metaArgs, plans[0]!.stages);
    if (unusedArgs) logger.warn(unusedArgs);
    const created = createdTime(options);
    const timings = new Timings();
    const stopTotal = timings.start('Total Build Time');
    const run = runSettings(options, logger, work.root, control.signal);
    // Not with the layer cache: a build whose every step hits starts no sandbox, not even a probe.
    if (!options.cache.enabled) startAhead(plans.flatMap((p) => stageInstructions(p.stages)), { run, workRoot: work.root, filesystem, after: images.waiting });
    const buildFor = async ({ graph, stages, targetPlatform }: (typeof plans)[number]): Promise<Image> => {
      const env: StageBuildEnv = {
        options, logger, work, filesystem: filesystem!, created, targetPlatform,
        escapeToken: graph.escapeToken,
        globalArgs: graph.globalArgs,
        contextRoot: context.root,
        isContextPathIncluded: (rel) => context.isIncluded(rel),
        images,
        run,
        copySourceImages: new Map(),
        stages: graph.stages,
        states: new Map(),
        stageCount: stages.length,
        timings,
        ...(stepCache ? { stepCache } : {}),
        // One platform: the layers of the target's FROM chain are the pushed image's; upload them as they come.
        ...(pusher && plans.length === 1 ? { onLayer: earlyPush(pusher, graph.target, graph.stages) } : {}),
      };
      for (const [position, stage] of stages.entries()) {
        env.states.set(stage.index, await buildStage(stage, position + 1, env));
      }
      // Cache writes finish (or warn) before the build reports its image; hits may still be read from it.
      await stepCache?.cache.flush();
      let target = env.states.get(graph.target.index)!;
      if (options.forceBuildMetadata) {
        target = await withForcedMetadataLayers(target, { stages: graph.stages, states: env.states, images, layerOptions: layerWriteOptions(options, work) });
      }
      return finalImage(target, options, created);
    };
    let digest: string;
    if (plans.length > 1) {
      const byPlatform = new Map(plans.map((p) => [p.targetPlatform, p]));
      digest = await buildImageIndex({ platforms: [...byPlatform.keys()], build: (p) => buildFor(byPlatform.get(p)!) }, options, logger, pusher);
    } else {
      const image = await buildFor(plans[0]!);
      // Push first: the digest files then name what the registries hold.
      if (pusher) await pusher.push(image);
      digest = await writeOutputs(image, options.output, logger, { pushedTo: pusher ? options.output.destinations : [] });
    }
    logger.info(`built image ${digest}`);
    stopTotal();
    if (options.benchmarkFile) writeFileAtomic(options.benchmarkFile, JSON.stringify(benchmarkReport(timings, stepCache), null, 2) + '\n');
    built = true;
    return { digest };
  } finally {
    await stepCache?.cache.close();
    await pusher?.close();
    await images.close();
    await filesystem?.close();
    // The result is written and reported: deleting the work dir is not worth the user's wait. In place, `/`
    // was replaced by the image, so no helper binary can be trusted: delete it here.
    if (built && options.isolation !== 'none') await work.discard();
    else work.remove();
    context.cleanup();
  }
}
