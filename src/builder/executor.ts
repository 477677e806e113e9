/**
 * `kiln build`: context → Dockerfile → stages → image → outputs. Every build has its own work dir
 * (stage root filesystems, layer blobs), removed when the build ends, whatever happened.
 */
import { writeFileAtomic } from '../fs/write-file-atomic.ts';
import { Timings } from '../log/timings.ts';
import { parseDockerfile } from '../dockerfile/parser.ts';
import { buildStageGraph, lexEscape, type Stage } from '../dockerfile/stages.ts';
import { openBuildContext } from '../context/build-context.ts';
import { KilnError } from '../errors.ts';
import { formatTime } from '../image/mutate.ts';
import { PartsImage } from '../image/parts-image.ts';
import { hostPlatform, parsePlatform } from '../image/platform.ts';
import { MediaType, type Image } from '../image/types.ts';
import type { Logger } from '../log/logger.ts';
import type { BuildOptions } from './options.ts';
import { writeOutputs } from './outputs.ts';
import { preparePush } from './push.ts';
import { registryImageSource } from './registry-source.ts';
import { createStageFilesystem } from './rootfs/create.ts';
import type { StageFilesystem } from './rootfs/stage-filesystem.ts';
import { runSettings } from './run-settings.ts';
import { buildStage, type StageBuildEnv } from './stage-builder.ts';
import type { StageState } from './state.ts';
import { createWorkDir } from './work-dir.ts';

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

export async function runBuild(options: BuildOptions, logger: Logger, control: { signal?: AbortSignal } = {}): Promise<BuildResult> {
  checkOutputs(options);
  // Destinations are checked before any work, so a refused push fails in seconds, not after the build.
  const pusher = await preparePush(options, logger);
  const context = await openBuildContext(options.context, options.dockerfile, { stdin: process.stdin }).catch(async (err: unknown) => {
    await pusher?.close();
    throw err;
  });
  const work = createWorkDir();
  const images = registryImageSource(options, logger);
  let filesystem: StageFilesystem | undefined;
  let built = false;
  try {
    filesystem = createStageFilesystem({ options, work, logger, contextRoot: context.root });
    const dockerfile = context.readDockerfile();
    const parsed = parseDockerfile(dockerfile.text, { file: dockerfile.displayName });
    const buildPlatform = hostPlatform();
    const targetPlatform = options.platform ? parsePlatform(options.platform) : buildPlatform;
    const graph = buildStageGraph(parsed, { buildArgs: options.buildArgs, target: options.target, targetPlatform, buildPlatform });
    for (const w of [...parsed.warnings, ...graph.warnings]) logger.warn(`${dockerfile.displayName}:${w.line}: ${w.message}`);
    const stages = stagesToBuild(graph.stages, graph.neededStages, graph.target, options.skipUnusedStages);
    const created = createdTime(options);
    const timings = new Timings();
    const stopTotal = timings.start('Total Build Time');
    const env: StageBuildEnv = {
      options, logger, work, filesystem, created,
      escapeToken: lexEscape(parsed.escapeToken),
      globalArgs: graph.globalArgs,
      contextRoot: context.root,
      isContextPathIncluded: (rel) => context.isIncluded(rel),
      images,
      run: runSettings(options, logger, control.signal),
      copySourceImages: new Map(),
      stages: graph.stages,
      states: new Map(),
      stageCount: stages.length,
      timings,
    };
    for (const [position, stage] of stages.entries()) {
      env.states.set(stage.index, await buildStage(stage, position + 1, env));
    }
    const image = finalImage(env.states.get(graph.target.index)!, options, created);
    // Push first: the digest files then name what the registries hold.
    if (pusher) await pusher.push(image);
    const digest = await writeOutputs(image, options.output, logger);
    logger.info(`built image ${digest}`);
    stopTotal();
    if (options.benchmarkFile) writeFileAtomic(options.benchmarkFile, JSON.stringify(timings, null, 2) + '\n');
    built = true;
    return { digest };
  } finally {
    await pusher?.close();
    await images.close();
    filesystem?.close();
    // The result is written and reported: deleting the work dir is not worth the user's wait. In place, `/`
    // was replaced by the image, so no helper binary can be trusted: delete it here.
    if (built && options.isolation !== 'none') work.discard();
    else work.remove();
    context.cleanup();
  }
}
