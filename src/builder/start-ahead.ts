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

/** `cpuWorkAfter`: when the modules may load (ImageSource.waiting: once the base image's requests are out). */
export function startAhead(instructions: readonly StageInstruction[], run: RunSettings, workRoot: string, cpuWorkAfter: Promise<void>): void {
  const kinds = new Set(instructions.map((i) => i.kind));
  const runs = kinds.has('RUN');
  const copies = kinds.has('COPY') || kinds.has('ADD');
  // Snapshots of RUN steps and COPY's own sources read xattrs.
  if (runs || copies) startXattrServerEarly();
  const loaders = [...(runs ? [loadRunInstruction, loadStepRunner] : []), ...(copies ? [loadCopyInstruction] : [])];
  void cpuWorkAfter.then(() => {
    if (runs) probeRunAhead(run, workRoot);
    for (const load of loaders) load().catch(() => {});
  });
}
