/** WORKDIR (BuildKit's dispatchWorkdir): sets the config and creates the directory, owned by USER, as a layer. */
import type { WorkdirInstruction } from '../../dockerfile/instructions/index.ts';
import type { Layer } from '../../image/types.ts';
import { located } from '../../dockerfile/instructions/index.ts';
import { resolveInRoot } from '../../fs/extract/safe-path.ts';
import { resolveChown } from '../copy/chown.ts';
import { mkdirAll } from '../copy/mkdir-all.ts';
import type { DispatchContext } from '../dispatch-context.ts';
import { historyEntry } from '../history.ts';
import { normalizeWorkdir } from '../paths.ts';
import type { StageState } from '../state.ts';
import type { StepResult } from '../step-result.ts';

/** The result of a WORKDIR that made `layer` (run, or from the cache). */
export function workdirResult(state: StageState, inst: WorkdirInstruction, layer: Layer | undefined): StepResult {
  const wd = normalizeWorkdir(state.config.config.WorkingDir, inst.path);
  const config = { ...state.config.config, WorkingDir: wd };
  return { config, ...(layer ? { layer } : {}), history: historyEntry(`WORKDIR ${wd}`, { layer: wd !== '/' }) };
}

export async function dispatchWorkdir(state: StageState, inst: WorkdirInstruction, ctx: DispatchContext): Promise<StepResult> {
  const wd = normalizeWorkdir(state.config.config.WorkingDir, inst.path);
  if (wd === '/') return workdirResult(state, inst, undefined);
  const user = state.config.config.User;
  const layer = await ctx.editFiles(state, async (rootfs) => {
    const owner = user ? located(inst.location, () => resolveChown(user, rootfs)) : undefined;
    const created = mkdirAll(resolveInRoot(rootfs, wd, { followFinal: true }), {
      ...(owner ? { chown: owner } : {}),
      ...(ctx.sourceDateEpoch === undefined ? {} : { time: ctx.sourceDateEpoch }),
    });
    return created.map((host) => host.slice(rootfs.length) || '/');
  });
  return workdirResult(state, inst, layer);
}
