/** Instruction kind → handler. Expansion happens here, once, before a handler sees the instruction. */
import { expandInstruction } from '../dockerfile/instructions/index.ts';
import type { StageInstruction } from '../dockerfile/instructions/index.ts';
import type { DispatchContext } from './dispatch-context.ts';
import { dispatchArg } from './instructions/arg.ts';
import { dispatchCmd, dispatchEntrypoint, dispatchHealthcheck } from './instructions/command.ts';
import {
  dispatchEnv, dispatchExpose, dispatchLabel, dispatchMaintainer, dispatchOnbuild, dispatchShell, dispatchStopsignal, dispatchUser,
  dispatchVolume,
} from './instructions/metadata.ts';
import { dispatchWorkdir } from './instructions/workdir.ts';
import { loadCopyInstruction, loadRunInstruction } from './lazy-modules.ts';
import type { StageState } from './state.ts';

export async function dispatchInstruction(state: StageState, raw: StageInstruction, ctx: DispatchContext): Promise<void> {
  // ARG defaults are expanded by the ARG handler itself: a build arg may make expansion unnecessary.
  const inst = raw.kind === 'ARG' ? raw : expandInstruction(raw, state.vars.env, { escapeToken: ctx.escapeToken });
  switch (inst.kind) {
    case 'ARG': return dispatchArg(state, inst, ctx);
    case 'ENV': return dispatchEnv(state, inst);
    case 'LABEL': return dispatchLabel(state, inst);
    case 'EXPOSE': return dispatchExpose(state, inst);
    case 'VOLUME': return dispatchVolume(state, inst);
    case 'USER': return dispatchUser(state, inst);
    case 'STOPSIGNAL': return dispatchStopsignal(state, inst);
    case 'SHELL': return dispatchShell(state, inst);
    case 'MAINTAINER': return dispatchMaintainer(state, inst);
    case 'ONBUILD': return dispatchOnbuild(state, inst);
    case 'CMD': return dispatchCmd(state, inst);
    case 'ENTRYPOINT': return dispatchEntrypoint(state, inst);
    case 'HEALTHCHECK': return dispatchHealthcheck(state, inst);
    case 'WORKDIR': return dispatchWorkdir(state, inst, ctx);
    case 'COPY': return (await loadCopyInstruction()).dispatchCopy(state, inst, ctx);
    case 'ADD': return (await loadCopyInstruction()).dispatchAdd(state, inst, ctx);
    case 'RUN': return (await loadRunInstruction()).dispatchRun(state, inst, ctx);
  }
}
