/**
 * Work a build starts beside its base image pull instead of in front of its first step: the isolation and
 * overlay probes, the xattr server and the overlay view holder (perl processes, ~30–40 ms each to start), and
 * the modules of the instructions the build has (tens of milliseconds of loading and compiling). Each is what
 * the step would do first anyway; errors surface there, at the step, not here.
 */
import { startXattrServerEarly } from '../fs/xattrs/xattr-server.ts';
import type { StageInstruction } from '../dockerfile/instructions/types.ts';
import type { RunSettings } from './dispatch-context.ts';
import { loadCopyInstruction, loadRunInstruction, loadStepRunner } from './lazy-modules.ts';
import type { StageFilesystem } from './rootfs/stage-filesystem.ts';
import { probeRunAhead } from './run-settings.ts';

export interface AheadInputs {
  run: RunSettings;
  workRoot: string;
  filesystem: StageFilesystem;
  /**
   * When to start (ImageSource.waiting: once the base image's first request is out): spawning a process
   * and loading modules take the main thread, which then has nothing else to do but wait for the registry.
   */
  after: Promise<void>;
}

export function startAhead(instructions: readonly StageInstruction[], inputs: AheadInputs): void {
  const kinds = new Set(instructions.map((i) => i.kind));
  const runSteps = instructions.filter((i) => i.kind === 'RUN');
  const runs = runSteps.length > 0;
  // Every RUN runs (no layer cache here): each one but the last starts the next one's launcher.
  inputs.run.runsLeft = { count: runSteps.length };
  const copies = kinds.has('COPY') || kinds.has('ADD');
  // COPY, ADD and WORKDIR write a stage's files through an overlay view (RUN steps mount their own).
  const views = copies || kinds.has('WORKDIR');
  const loaders = [...(runs ? [loadRunInstruction, loadStepRunner] : []), ...(copies ? [loadCopyInstruction] : [])];
  void inputs.after.then(() => {
    // One turn of the event loop first, so that the registry request is on the wire before this runs.
    setImmediate(() => {
      // Snapshots of RUN steps and COPY's own sources read xattrs.
      if (runs || copies) startXattrServerEarly();
      if (views) inputs.filesystem.startViews();
      if (runs) probeRunAhead(inputs.run, inputs.workRoot, runSteps[0]!.network);
      for (const load of loaders) load().catch(() => {});
    });
  });
}
