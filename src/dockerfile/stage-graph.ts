/**
 * Edges between stages (COPY --from, RUN --mount from=, base-stage ONBUILD triggers), BuildKit's
 * checks on them (bad index, cycles, a needed stage using a later one) and the stages a target needs.
 */
import { KilnError } from '../errors.ts';
import { instructionError, sourceLocation } from './instructions/index.ts';
import type { Instruction, StageInstruction } from './instructions/index.ts';
import type { Stage, StageWarning } from './stages.ts';

export const STAGE_ERROR = 'DOCKERFILE_STAGE';
export const SCRATCH = 'scratch';

/** A stage by name as COPY --from and --target find it: case-insensitive, the last of duplicates. */
export function findStageByName(stages: readonly Stage[], name: string): Stage | undefined {
  const lower = name.toLowerCase();
  let found: Stage | undefined;
  for (const stage of stages) if (stage.name === lower) found = stage;
  return found;
}

/** Where COPY --from / a mount's from= points. */
export type StageSource = { kind: 'stage'; index: number } | { kind: 'image'; name: string } | { kind: 'scratch' };

export interface StageDependency {
  source: StageSource;
  /** The COPY or RUN that names it. */
  instruction: StageInstruction;
  /** As written: `--from=` value or mount `from=`. */
  reference: string;
}

/** Resolves a COPY --from / mount from= value: a stage index, a stage name (any case), else an image. */
export function resolveStageSource(stages: readonly Stage[], reference: string, inst: Instruction): StageSource {
  if (/^[+-]?\d+$/.test(reference)) {
    const index = Number(reference);
    if (index < 0 || index >= stages.length) throw instructionError(inst.location, `invalid stage index ${index}`);
    return { kind: 'stage', index };
  }
  const stage = findStageByName(stages, reference);
  if (stage !== undefined) return { kind: 'stage', index: stage.index };
  if (reference === SCRATCH) return { kind: 'scratch' };
  return { kind: 'image', name: reference };
}

/** Fills `dependencies` and `onbuildTriggers`, checks the graph; returns the target's needed stages. */
export function linkStages(stages: Stage[], target: Stage): { neededStages: Stage[]; warnings: StageWarning[] } {
  for (const stage of stages) {
    if (stage.baseStage !== undefined) stage.onbuildTriggers = triggersOf(stages[stage.baseStage], stage);
    stage.dependencies = [...stage.onbuildTriggers, ...stage.instructions].flatMap((inst) => dependenciesOf(stages, inst));
  }
  checkCycles(stages);
  const neededStages = reachableFrom(stages, target);
  for (const stage of neededStages) checkDefinedBefore(stages, stage);
  return { neededStages, warnings: [] };
}

/** The base stage's ONBUILD triggers, located (as BuildKit does) at the FROM that fires them. */
function triggersOf(base: Stage, stage: Stage): StageInstruction[] {
  const triggers: StageInstruction[] = [];
  for (const inst of base.instructions) {
    if (inst.kind !== 'ONBUILD') continue;
    if (inst.trigger === undefined || inst.trigger.kind === 'FROM') {
      throw instructionError(stage.location, inst.triggerError ?? `${inst.expression} isn't allowed as an ONBUILD trigger`);
    }
    triggers.push({ ...inst.trigger, location: stage.location });
  }
  return triggers;
}

function dependenciesOf(stages: readonly Stage[], inst: StageInstruction): StageDependency[] {
  if (inst.kind === 'COPY' && inst.from !== undefined) {
    return [{ source: resolveStageSource(stages, inst.from, inst), instruction: inst, reference: inst.from }];
  }
  if (inst.kind === 'RUN') {
    // A mount without from= reads scratch, which needs nothing.
    return inst.mountFroms.flatMap((from) =>
      from === undefined || from === '' ? [] : [{ source: resolveStageSource(stages, from, inst), instruction: inst, reference: from }],
    );
  }
  return [];
}

/** BuildKit's validateCircularDependency: cycles through COPY --from / mount edges. */
function checkCycles(stages: readonly Stage[]): void {
  const visited = new Set<number>();
  const onPath = new Set<number>();
  const visit = (index: number, path: StageDependency[]): StageDependency[] | undefined => {
    if (visited.has(index)) return undefined;
    visited.add(index);
    onPath.add(index);
    for (const dep of stages[index].dependencies) {
      if (dep.source.kind !== 'stage') continue;
      const next = [...path, dep];
      if (onPath.has(dep.source.index)) return next;
      const cycle = visit(dep.source.index, next);
      if (cycle !== undefined) return cycle;
    }
    onPath.delete(index);
    return undefined;
  };
  for (const stage of stages) {
    const cycle = visit(stage.index, []);
    if (cycle !== undefined) {
      throw new KilnError(STAGE_ERROR, `circular dependency detected on stage: ${stageLabel(stages, stage)}`, {
        location: sourceLocation(cycle[cycle.length - 1].instruction.location),
      });
    }
  }
}

function reachableFrom(stages: readonly Stage[], target: Stage): Stage[] {
  const seen = new Set<number>();
  const pending = [target.index];
  while (pending.length > 0) {
    const index = pending.pop() as number;
    if (seen.has(index)) continue;
    seen.add(index);
    const stage = stages[index];
    if (stage.baseStage !== undefined) pending.push(stage.baseStage);
    for (const dep of stage.dependencies) if (dep.source.kind === 'stage') pending.push(dep.source.index);
  }
  return stages.filter((stage) => seen.has(stage.index));
}

/** BuildKit dispatches stages in order: a needed stage may only read from earlier ones. */
function checkDefinedBefore(stages: readonly Stage[], stage: Stage): void {
  for (const dep of stage.dependencies) {
    if (dep.source.kind !== 'stage' || dep.source.index < stage.index) continue;
    const current = stageLabel(stages, stage);
    const message =
      dep.instruction.kind === 'COPY'
        ? `cannot copy from stage ${JSON.stringify(dep.reference)}, it needs to be defined before current stage ${JSON.stringify(current)}`
        : `cannot mount from stage ${JSON.stringify(dep.reference)} to stage ${JSON.stringify(current)}, stage needs to be defined before current command`;
    throw instructionError(dep.instruction.location, message);
  }
}

/** BuildKit calls the only stage of a one-stage Dockerfile "". */
function stageLabel(stages: readonly Stage[], stage: Stage): string {
  return stages.length === 1 ? '' : stage.displayName;
}
