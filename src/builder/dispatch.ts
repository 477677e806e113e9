/**
 * Instruction kind → handler. Expansion happens here, once, before a handler (or a cache key) sees the
 * instruction; a handler returns its step's result, which the stage builder applies.
 */
import { expandInstruction } from '../dockerfile/instructions/index.ts';
import type { Instruction, StageInstruction } from '../dockerfile/instructions/index.ts';
import type { Layer } from '../image/types.ts';
import type { DispatchContext } from './dispatch-context.ts';
import { dispatchArg } from './instructions/arg.ts';
import { dispatchCmd, dispatchEntrypoint, dispatchHealthcheck } from './instructions/command.ts';
import {
  dispatchEnv, dispatchExpose, dispatchLabel, dispatchMaintainer, dispatchOnbuild, dispatchShell, dispatchStopsignal, dispatchUser,
  dispatchVolume,
} from './instructions/metadata.ts';
import { dispatchWorkdir, workdirResult } from './instructions/workdir.ts';
import { loadCopyInstruction, loadRunInstruction } from './lazy-modules.ts';
import type { StageState } from './state.ts';
import type { StepResult } from './step-result.ts';

/** The instruction as its step acts on it: expanded against the stage's variables. */
export function expandStep(state: StageState, raw: StageInstruction, ctx: DispatchContext): StageInstruction {
  // ARG defaults are expanded by the ARG handler itself: a build arg may make expansion unnecessary.
  return raw.kind === 'ARG' ? raw : expandInstruction(raw, state.vars.env, { escapeToken: ctx.escapeToken });
}

/** Runs an expanded instruction's step. */
export async function dispatchInstruction(state: StageState, inst: StageInstruction, ctx: DispatchContext): Promise<StepResult> {
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

/**
 * Steps whose layer the layer cache may supply: RUN, and COPY/ADD with --cache-copy-layers (kaniko), and
 * WORKDIR, whose tiny layer would otherwise make a fully cached stage unpack its base image.
 */
export function cacheableKind(inst: Instruction): 'run' | 'copy' | 'workdir' | undefined {
  if (inst.kind === 'RUN') return 'run';
  if (inst.kind === 'WORKDIR') return inst.path === '/' ? undefined : 'workdir';
  return inst.kind === 'COPY' || inst.kind === 'ADD' ? 'copy' : undefined;
}

/** The result of a RUN, COPY or ADD whose layer came from the cache: what running it would have given. */
export async function cachedResult(state: StageState, inst: Instruction, layer: Layer): Promise<StepResult> {
  if (inst.kind === 'RUN') return { layer, history: (await loadRunInstruction()).runHistory(state, inst) };
  if (inst.kind === 'COPY' || inst.kind === 'ADD') return { layer, history: (await loadCopyInstruction()).copyHistory(inst) };
  if (inst.kind === 'WORKDIR') return workdirResult(state, inst, layer);
  throw new Error(`${inst.kind} steps are never cached`);
}
