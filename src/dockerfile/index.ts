/**
 * The Dockerfile front end as the builder uses it: text → parsed nodes → typed instructions →
 * stages (meta ARGs applied, target chosen, needed stages found). Expansion of instructions happens
 * later, at dispatch (instructions/expand.ts, stage-vars.ts).
 */
import { hostPlatform } from '../image/platform.ts';
import type { Platform } from '../image/types.ts';
import type { ParsedDockerfile } from './ast.ts';
import { parseDockerfile } from './parser.ts';
import { buildStageGraph, lexEscape } from './stages.ts';
import type { StageGraph, StageWarning } from './stages.ts';

export type { ParsedDockerfile } from './ast.ts';
export type * from './instructions/types.ts';
export { checkStopSignal, expandInstruction, exposedPortKeys, parseInstruction, parseMount } from './instructions/index.ts';
export { buildStageGraph, findStageByName, SCRATCH, STAGE_ERROR } from './stages.ts';
export type { MetaArg, Stage, StageGraph, StageOptions, StageWarning } from './stages.ts';
export { resolveStageSource } from './stage-graph.ts';
export type { StageDependency, StageSource } from './stage-graph.ts';
export { applyEnv, declareArgs, initialStageVars, runArgsPrefix, withDefaultPath, DEFAULT_PATH } from './stage-vars.ts';
export type { ArgContext, DeclaredArg, StageVars } from './stage-vars.ts';
export { predefinedArgs, proxyEnvFromBuildArgs } from './platform-args.ts';

export interface LoadOptions {
  /** The Dockerfile's name in messages. Default "Dockerfile". */
  file?: string;
  buildArgs?: ReadonlyMap<string, string>;
  /** `--target`: a stage name; default the last stage. */
  target?: string;
  /** Default: the host platform. */
  targetPlatform?: Platform;
  /** Default: the host platform. */
  buildPlatform?: Platform;
}

export interface LoadedDockerfile extends StageGraph {
  parsed: ParsedDockerfile;
  /** The escape directive, for every expansion of this file. */
  escapeToken: '\\' | '`';
  buildArgs: ReadonlyMap<string, string>;
  /** Parser warnings (empty continuation lines, ...) and stage warnings (duplicate names). */
  warnings: StageWarning[];
}

/** Parses and checks a Dockerfile; throws KilnError with file:line for anything BuildKit rejects up front. */
export function loadDockerfile(text: string, options: LoadOptions = {}): LoadedDockerfile {
  const parsed = parseDockerfile(text, { file: options.file ?? 'Dockerfile' });
  const host = hostPlatform();
  const buildArgs = options.buildArgs ?? new Map<string, string>();
  const graph = buildStageGraph(parsed, {
    buildArgs,
    ...(options.target === undefined ? {} : { target: options.target }),
    targetPlatform: options.targetPlatform ?? host,
    buildPlatform: options.buildPlatform ?? host,
  });
  return {
    ...graph,
    parsed,
    escapeToken: lexEscape(parsed.escapeToken),
    buildArgs,
    warnings: [...parsed.warnings.map((w) => ({ message: w.message, line: w.line })), ...graph.warnings],
  };
}
