/**
 * A test helper: runs the dispatch-time checks of the needed stages without executing anything — every
 * expansion (ARG defaults, ENV, COPY paths, RUN mounts, EXPOSE ports, ...) in order, with the ARG/ENV scoping
 * of stage-vars.ts — so the front end can be checked against BuildKit's verdicts without building. The
 * builder does the same checks one instruction at a time, with the base image's real environment.
 */
import { checkStopSignal, exposedPortKeys, located } from '../../../src/dockerfile/instructions/index.ts';
import type { StageInstruction } from '../../../src/dockerfile/instructions/index.ts';
import { applyEnv, declareArgs, initialStageVars, withDefaultPath } from '../../../src/dockerfile/stage-vars.ts';
import type { StageVars } from '../../../src/dockerfile/stage-vars.ts';
import { expandInstruction } from '../../../src/dockerfile/instructions/index.ts';
import type { Stage, StageGraph } from '../../../src/dockerfile/stages.ts';

export interface DispatchCheckOptions {
  buildArgs: ReadonlyMap<string, string>;
  escapeToken: '\\' | '`';
  /** The base image's config Env for a stage built FROM an image (default: none, PATH added). */
  imageEnv?: (stage: Stage) => readonly string[];
}

/** Throws the KilnError the build would stop with; returns each needed stage's final variables. */
export function checkDispatch(graph: StageGraph, options: DispatchCheckOptions): Map<number, StageVars> {
  const finalVars = new Map<number, StageVars>();
  for (const stage of graph.neededStages) {
    const inherited = stage.baseStage === undefined ? undefined : finalVars.get(stage.baseStage);
    let vars = inherited ?? initialStageVars(withDefaultPath(options.imageEnv?.(stage) ?? []));
    for (const inst of [...stage.onbuildTriggers, ...stage.instructions]) vars = checkInstruction(inst, vars, graph, options);
    finalVars.set(stage.index, vars);
  }
  return finalVars;
}

function checkInstruction(inst: StageInstruction, vars: StageVars, graph: StageGraph, options: DispatchCheckOptions): StageVars {
  if (inst.kind === 'ARG') {
    return declareArgs(vars, inst, { buildArgs: options.buildArgs, globalArgs: graph.globalArgs, escapeToken: options.escapeToken });
  }
  const expanded = expandInstruction(inst, vars.env, { escapeToken: options.escapeToken });
  if (expanded.kind === 'ENV') return applyEnv(vars, expanded);
  if (expanded.kind === 'EXPOSE') located(expanded.location, () => exposedPortKeys(expanded.ports));
  if (expanded.kind === 'STOPSIGNAL') located(expanded.location, () => checkStopSignal(expanded.signal));
  return vars;
}
