/**
 * Instructions → stages, as dockerfile2llb's toDispatchState up to dispatch: meta ARGs (ARG before
 * the first FROM, visible only in FROM lines unless redeclared in a stage), FROM names and platforms
 * expanded with them, stage names and indexes, the --target stage and the stages it needs.
 */
import { KilnError } from '../errors.ts';
import { parsePlatform } from '../image/platform.ts';
import type { Platform } from '../image/types.ts';
import { parseReference } from '../registry/reference.ts';
import type { ParsedDockerfile } from './ast.ts';
import { EXPANSION_ERROR, instructionError, located, parseInstruction, sourceLocation } from './instructions/index.ts';
import type { ArgInstruction, FromInstruction, Instruction, InstructionLocation, StageInstruction } from './instructions/index.ts';
import { predefinedArgs } from './platform-args.ts';
import { ShellExpansionError, processWordWithMatches } from './shell/index.ts';
import { SCRATCH, STAGE_ERROR, findStageByName, linkStages } from './stage-graph.ts';
import type { StageDependency } from './stage-graph.ts';

export { SCRATCH, STAGE_ERROR, findStageByName };

export interface Stage {
  index: number;
  /** Lower-cased `AS` name. */
  name?: string;
  /** How BuildKit names the stage in messages: its name or `stage-<index>`. */
  displayName: string;
  from: FromInstruction;
  /** The FROM image or stage name with meta ARGs expanded ("scratch" included). */
  baseName: string;
  /** Index of the earlier stage named by FROM (exact, case-sensitive match on the lower-cased name). */
  baseStage?: number;
  /** The expanded `--platform`, parsed. */
  platform?: Platform;
  instructions: StageInstruction[];
  /** ONBUILD triggers of the base stage, run before `instructions` (BuildKit ≥ 0.15). */
  onbuildTriggers: StageInstruction[];
  /** COPY --from and RUN --mount from= sources of this stage (triggers included). */
  dependencies: StageDependency[];
  location: InstructionLocation;
}

export interface MetaArg {
  key: string;
  /** After build-arg override or default expansion; undefined when declared without a value. */
  value?: string;
  location: InstructionLocation;
}

export interface StageWarning {
  message: string;
  line: number;
}

export interface StageOptions {
  buildArgs: ReadonlyMap<string, string>;
  target?: string;
  targetPlatform: Platform;
  buildPlatform: Platform;
}

export interface StageGraph {
  metaArgs: MetaArg[];
  /** Predefined args and meta ARG values: what FROM lines, and `ARG name` inside stages, see. */
  globalArgs: Map<string, string>;
  stages: Stage[];
  target: Stage;
  /** The target and every stage it needs (through FROM, COPY --from, RUN --mount from=), by index. */
  neededStages: Stage[];
  warnings: StageWarning[];
}

export function buildStageGraph(parsed: ParsedDockerfile, options: StageOptions): StageGraph {
  const { metaArgInstructions, stageGroups } = splitStages(parsed);
  const targetName = options.target ?? stageGroups[stageGroups.length - 1].from.stageName ?? '';
  const globalArgs = predefinedArgs({ ...options, targetStage: targetName });
  const metaArgs = resolveMetaArgs(metaArgInstructions, globalArgs, options.buildArgs, parsed.escapeToken);
  const stages = createStages(stageGroups, globalArgs, parsed.escapeToken);
  const target = findTarget(stages, options.target);
  const { neededStages, warnings } = linkStages(stages, target);
  validateImageNames(stages);
  return { metaArgs, globalArgs, stages, target, neededStages, warnings: [...duplicateNameWarnings(stages), ...warnings] };
}

interface StageGroup {
  from: FromInstruction;
  instructions: StageInstruction[];
}

function splitStages(parsed: ParsedDockerfile): { metaArgInstructions: ArgInstruction[]; stageGroups: StageGroup[] } {
  const metaArgInstructions: ArgInstruction[] = [];
  const stageGroups: StageGroup[] = [];
  for (const node of parsed.instructions) {
    const inst: Instruction = parseInstruction(node, parsed.file);
    if (inst.kind === 'FROM') {
      stageGroups.push({ from: inst, instructions: [] });
    } else if (stageGroups.length > 0) {
      stageGroups[stageGroups.length - 1].instructions.push(inst);
    } else if (inst.kind === 'ARG') {
      metaArgInstructions.push(inst);
    } else {
      throw instructionError(inst.location, 'no build stage in current context', 'a Dockerfile starts with FROM (only ARG may come before it)');
    }
  }
  if (stageGroups.length === 0) {
    throw new KilnError(STAGE_ERROR, 'dockerfile contains no stages to build', {
      location: { file: parsed.file, line: 1 },
      hint: 'add a FROM instruction',
    });
  }
  return { metaArgInstructions, stageGroups };
}

/** BuildKit's buildMetaArgs: a build arg wins; else the default, expanded with the args so far. */
function resolveMetaArgs(
  instructions: readonly ArgInstruction[],
  globalArgs: Map<string, string>,
  buildArgs: ReadonlyMap<string, string>,
  escapeToken: string,
): MetaArg[] {
  const metaArgs: MetaArg[] = [];
  for (const inst of instructions) {
    for (const arg of inst.args) {
      let value = buildArgs.get(arg.key);
      if (value === undefined && arg.defaultValue !== undefined) {
        const text = arg.defaultValue;
        value = located(inst.location, () => processWordWithMatches(text, globalArgs, { escapeToken: lexEscape(escapeToken) }).result);
      }
      if (value !== undefined) globalArgs.set(arg.key, value);
      metaArgs.push({ key: arg.key, ...(value === undefined ? {} : { value }), location: inst.location });
    }
  }
  return metaArgs;
}

function createStages(groups: readonly StageGroup[], globalArgs: ReadonlyMap<string, string>, escapeToken: string): Stage[] {
  const stages: Stage[] = [];
  const byName = new Map<string, Stage>();
  for (const [index, group] of groups.entries()) {
    const { from } = group;
    const baseName = located(from.location, () => processWordWithMatches(from.baseName, globalArgs, { escapeToken: lexEscape(escapeToken) }).result);
    if (baseName === '') throw instructionError(from.location, `base name (${from.baseName}) should not be blank`);
    const baseStage = byName.get(baseName);
    const platform = from.platform === undefined ? undefined : stagePlatform(from, globalArgs, escapeToken);
    const stage: Stage = {
      index,
      ...(from.stageName === undefined ? {} : { name: from.stageName }),
      displayName: from.stageName ?? `stage-${index}`,
      from,
      baseName,
      ...(baseStage === undefined ? {} : { baseStage: baseStage.index }),
      ...(platform === undefined ? {} : { platform }),
      instructions: group.instructions,
      onbuildTriggers: [],
      dependencies: [],
      location: from.location,
    };
    stages.push(stage);
    if (stage.name !== undefined) byName.set(stage.name, stage);
  }
  return stages;
}

function stagePlatform(from: FromInstruction, globalArgs: ReadonlyMap<string, string>, escapeToken: string): Platform {
  const expression = from.platform ?? '';
  let text: string;
  try {
    text = processWordWithMatches(expression, globalArgs, { escapeToken: lexEscape(escapeToken) }).result;
  } catch (err) {
    if (!(err instanceof ShellExpansionError)) throw err;
    throw new KilnError(EXPANSION_ERROR, `failed to process arguments for platform ${expression}: ${err.message}`, {
      location: sourceLocation(from.location),
    });
  }
  if (text === '') throw instructionError(from.location, `empty platform value from expression ${expression}`);
  try {
    return parsePlatform(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw instructionError(from.location, `failed to parse platform ${expression}: ${reason}`);
  }
}

/** `--target`: a stage name, case-insensitive (BuildKit lower-cases it); the last stage by default. */
function findTarget(stages: readonly Stage[], target: string | undefined): Stage {
  if (target === undefined || target === '') return stages[stages.length - 1];
  const found = findStageByName(stages, target);
  if (found === undefined) {
    const names = stages.flatMap((stage) => (stage.name === undefined ? [] : [stage.name]));
    throw new KilnError(STAGE_ERROR, `target stage ${JSON.stringify(target)} could not be found`, {
      hint: names.length > 0 ? `stages are: ${names.join(', ')}` : 'this Dockerfile names no stage (FROM image AS name)',
    });
  }
  return found;
}

/** Every FROM that is not a stage must be a valid image reference, needed or not (as BuildKit). */
function validateImageNames(stages: readonly Stage[]): void {
  for (const stage of stages) {
    if (stage.baseStage !== undefined || stage.baseName === SCRATCH) continue;
    checkImageName(stage.baseName, stage.location);
  }
  for (const stage of stages) {
    for (const dep of stage.dependencies) {
      if (dep.source.kind === 'image') checkImageName(dep.source.name, dep.instruction.location);
    }
  }
}

export function checkImageName(name: string, location: InstructionLocation): void {
  try {
    const remote = uppercaseRemoteName(name);
    if (remote !== undefined) throw new Error(`invalid reference format: repository name (${remote}) must be lowercase`);
    parseReference(name);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new KilnError(STAGE_ERROR, `failed to parse stage name ${JSON.stringify(name)}: ${reason}`, {
      location: sourceLocation(location),
      hint: 'stage names are lower-case; FROM and COPY --from match them exactly after lower-casing the AS name',
    });
  }
}

/** distribution/reference's lower-case check, worded as BuildKit reports it (the usual stage-name typo). */
function uppercaseRemoteName(name: string): string | undefined {
  const slash = name.indexOf('/');
  const first = name.slice(0, slash);
  const hasDomain = slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first);
  let remote = hasDomain ? name.slice(slash + 1) : name;
  if (!hasDomain && !remote.includes('/')) remote = `library/${remote}`;
  const end = remote.search(/[:@]/);
  const repository = end < 0 ? remote : remote.slice(0, end);
  return repository.toLowerCase() === repository ? undefined : repository;
}

function duplicateNameWarnings(stages: readonly Stage[]): StageWarning[] {
  const warnings: StageWarning[] = [];
  const seen = new Set<string>();
  for (const stage of stages) {
    if (stage.name === undefined) continue;
    if (stage.name === 'context' || stage.name === SCRATCH) {
      warnings.push({ message: `'${stage.name}' is reserved and should not be used as a stage name`, line: stage.location.line });
    }
    if (seen.has(stage.name)) {
      warnings.push({ message: `Duplicate stage name '${stage.name}', stage names should be unique`, line: stage.location.line });
    }
    seen.add(stage.name);
  }
  return warnings;
}

export function lexEscape(escapeToken: string): '\\' | '`' {
  return escapeToken === '`' ? '`' : '\\';
}
