/** ARG inside a stage (BuildKit's dispatchArg; the resolution rules live in the front end's declareArgs). */
import type { ArgInstruction } from '../../dockerfile/instructions/index.ts';
import { declareArgs } from '../../dockerfile/stage-vars.ts';
import type { DispatchContext } from '../dispatch-context.ts';
import { historyEntry } from '../history.ts';
import type { StageState } from '../state.ts';
import type { StepResult } from '../step-result.ts';

export function dispatchArg(state: StageState, inst: ArgInstruction, ctx: DispatchContext): StepResult {
  const vars = declareArgs(state.vars, inst, { buildArgs: ctx.buildArgs, globalArgs: ctx.globalArgs, escapeToken: ctx.escapeToken });
  const declared = vars.args.slice(state.vars.args.length).map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`));
  return { vars, history: historyEntry(`ARG ${declared.join(' ')}`, { layer: false }) };
}
