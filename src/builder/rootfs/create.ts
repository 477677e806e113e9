/**
 * Picks the build's stage filesystem from the isolation: `none` builds in place on `/` (after the guard
 * says this is a throwaway container or jail), anything else in private directories.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../../errors.ts';
import { findExecutable } from '../../fs/extract/xattr-writer.ts';
import { LayerStore } from '../../fs/layer-store.ts';
import type { Logger } from '../../log/logger.ts';
import { HOST_TOOL_PATH, perlCommand } from '../../bundled-tools.ts';
import type { BuildOptions } from '../options.ts';
import type { WorkDir } from '../work-dir.ts';
import { InPlaceFilesystem } from './in-place.ts';
import { assertInPlaceAllowed } from './in-place-guard.ts';
import { inPlaceIgnoreList, type IgnoreList } from './ignore-list.ts';
import { layerWriteOptions } from './layers.ts';
import { PrivateDirFilesystem } from './private-dir.ts';
import type { StageFilesystem } from './stage-filesystem.ts';

/** The checkout or install Kiln runs from (holds src/, bin/, the RUN launcher and usually node). */
export const kilnCodeDir = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export interface FilesystemInputs {
  options: BuildOptions;
  work: WorkDir;
  logger: Logger;
  /** The build context directory: an input, so kept off the ignore list's victims. */
  contextRoot: string;
  env?: NodeJS.ProcessEnv;
}

function realpathOr(p: string): string {
  try { return fs.realpathSync(p); } catch { return p; }
}

/** Every path Kiln reads or writes during an in-place build: none may be extracted over or deleted. */
export function kilnOwnPaths(inputs: FilesystemInputs): string[] {
  const { options, work, env = process.env } = inputs;
  const o = options.output;
  const paths = [
    // node itself needs no protection: a running program does not need its file.
    work.root, options.kanikoDir, kilnCodeDir, inputs.contextRoot,
    ...(options.dockerfile.kind === 'file' && !options.dockerfile.relativeToContext ? [options.dockerfile.path] : []),
    ...[o.tarPath, o.ociLayoutPath, o.digestFile, o.imageNameWithDigestFile, o.imageNameTagWithDigestFile].filter((p): p is string => p !== undefined),
    ...options.baseImageSources.map((s) => s.path),
    ...(options.cache.enabled ? [options.cache.dir] : []),
    ...(options.cache.enabled && options.cache.repo?.startsWith('oci:') ? [options.cache.repo.slice('oci:'.length)] : []),
    ...options.secrets.flatMap((s) => (s.source.kind === 'file' ? [s.source.path] : [])),
    ...options.ssh.flatMap((s) => s.paths),
    ...(options.registry.dockerConfigDir ? [options.registry.dockerConfigDir] : []),
    ...(env.KILN_PERL ? [env.KILN_PERL] : []),
  ].map((p) => path.resolve(p));
  return [...new Set([...paths, ...paths.map(realpathOr)])];
}

/** Why RUN cannot work once the base image replaced `/`, checked while `/` is still intact. */
function launcherProblem(ignore: IgnoreList, env: NodeJS.ProcessEnv): KilnError | undefined {
  const [command] = perlCommand(env) as [string, ...string[]];
  const perl = command.includes('/') ? command : findExecutable(command, HOST_TOOL_PATH);
  const hint = 'in place, RUN needs perl (the step launcher) in a kept directory: put it under the kaniko dir and set KILN_PERL to it';
  if (perl === undefined) return new KilnError('RUN_ISOLATION', 'perl (the RUN step launcher) is not installed', { hint });
  if (!ignore.isProtected(realpathOr(perl)) && !ignore.isProtected(perl)) {
    return new KilnError('RUN_ISOLATION', `perl (the RUN step launcher) at ${perl} is removed when the base image replaces /`, { hint });
  }
  return undefined;
}

const DEFAULT_STORE_MAX_MB = 10240;

/**
 * The machine's layer store (src/fs/layer-store.ts), where RUN can use it: overlay lower dirs need namespace
 * isolation and, for whiteout devices and trusted.* xattrs, root. `KILN_LAYER_STORE` moves it (default
 * `$KILN_CACHE_HOME/kiln/layers`, else `~/.cache/kiln/layers`) or turns it off (`off`);
 * `KILN_LAYER_STORE_MAX_MB` bounds it (default 10240).
 */
export function layerStoreFor(options: BuildOptions, env: NodeJS.ProcessEnv, logger: Logger): LayerStore | undefined {
  const setting = env.KILN_LAYER_STORE ?? '';
  if (setting === 'off' || setting === '0' || setting === 'false') return undefined;
  if (options.isolation === 'chroot' || options.isolation === 'none' || options.singleSnapshot || process.geteuid?.() !== 0) return undefined;
  const base = env.KILN_CACHE_HOME ?? env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  const root = setting !== '' ? path.resolve(setting) : path.join(base, 'kiln', 'layers');
  const maxMb = Number(env.KILN_LAYER_STORE_MAX_MB ?? DEFAULT_STORE_MAX_MB);
  if (!Number.isFinite(maxMb) || maxMb < 0) {
    throw new KilnError('FLAG_INVALID', `KILN_LAYER_STORE_MAX_MB=${env.KILN_LAYER_STORE_MAX_MB} is not a size in MiB`, { exitCode: 2 });
  }
  try {
    return new LayerStore({ root, maxBytes: maxMb * 1024 * 1024 });
  } catch (err) {
    logger.warn(`layer store ${root} unusable (${(err as Error).message}): every stage is unpacked for this build`);
    return undefined;
  }
}

export function createStageFilesystem(inputs: FilesystemInputs): StageFilesystem {
  const { options, work, logger, env = process.env } = inputs;
  const layerOptions = layerWriteOptions(options, work);
  const snapshotMode = options.snapshotMode ?? 'redo';
  const extractRetry = { retries: options.imageFsExtractRetry, log: (m: string) => logger.warn(m) };
  const store = layerStoreFor(options, env, logger);
  const privateDirs = new PrivateDirFilesystem({
    work, layerOptions, snapshotMode, singleSnapshot: options.singleSnapshot, extractRetry,
    ignorePaths: ['/proc', '/sys', '/dev', ...options.ignorePaths],
    ...(store ? { store } : {}),
    debug: (m: string) => logger.debug(m),
  });
  if (options.isolation !== 'none') return privateDirs;

  assertInPlaceAllowed({
    env,
    exists: (f) => fs.existsSync(f),
    readFile: (f) => { try { return fs.readFileSync(f, 'utf8'); } catch { return undefined; } },
    codeDir: realpathOr(kilnCodeDir),
    kanikoDir: realpathOr(options.kanikoDir),
  });
  const ignore = inPlaceIgnoreList({
    kilnPaths: kilnOwnPaths(inputs),
    ignoreVarRun: options.ignoreVarRun,
    ignorePaths: options.ignorePaths.map((p) => path.resolve('/', p)),
    mountinfo: fs.readFileSync('/proc/self/mountinfo', 'utf8'),
  });
  logger.info('building in place on / (isolation none, kaniko\'s model)');
  logger.debug(`in place: ignore list ${ignore.paths.join(' ')}`);
  const problem = launcherProblem(ignore, env);
  return new InPlaceFilesystem({
    root: '/', ignore, layerOptions, snapshotMode, singleSnapshot: options.singleSnapshot, cleanup: options.cleanup, extractRetry,
    privateDirs, runProblem: () => problem, logger,
  });
}
