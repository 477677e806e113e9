/** ARG inside a stage (BuildKit's dispatchArg; the resolution rules live in the front end's declareArgs). */
import type { ArgInstruction } from '../../dockerfile/instructions/index.ts';
import { declareArgs } from '../../dockerfile/stage-vars.ts';
import type { DispatchContext } from '../dispatch-context.ts';
import { commitHistory } from '../history.ts';
import type { StageState } from '../state.ts';

export function dispatchArg(state: StageState, inst: ArgInstruction, ctx: DispatchContext): void {
  const before = state.vars.args.length;
  state.vars = declareArgs(state.vars, inst, { buildArgs: ctx.buildArgs, globalArgs: ctx.globalArgs, escapeToken: ctx.escapeToken });
  const declared = state.vars.args.slice(before).map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`));
  commitHistory(state, `ARG ${declared.join(' ')}`, { layer: false });
}
