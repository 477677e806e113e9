/**
 * Work a build starts beside its base image pull instead of in front of its first step: the isolation and
 * overlay probes, the xattr server (perl, ~30–40 ms to start), and the modules of the instructions the build
 * has (tens of milliseconds of loading and compiling). Each is what the step would do first anyway; errors
 * surface there, at the step, not here.
 */
import { startXattrServerEarly } from '../fs/xattrs/xattr-server.ts';
import type { StageInstruction } from '../dockerfile/instructions/types.ts';
import { loadCopyInstruction, loadRunInstruction, loadStepRunner } from './lazy-modules.ts';
import type { RunSettings } from './dispatch-context.ts';
import { probeRunAhead } from './run-settings.ts';

export function startAhead(instructions: readonly StageInstruction[], run: RunSettings, workRoot: string): void {
  const kinds = new Set(instructions.map((i) => i.kind));
  const runs = kinds.has('RUN');
  const copies = kinds.has('COPY') || kinds.has('ADD');
  if (runs) probeRunAhead(run, workRoot);
  // Snapshots of RUN steps and COPY's own sources read xattrs.
  if (runs || copies) startXattrServerEarly();
  const modules = [...(runs ? [loadRunInstruction(), loadStepRunner()] : []), ...(copies ? [loadCopyInstruction()] : [])];
  for (const loading of modules) loading.catch(() => {});
}
