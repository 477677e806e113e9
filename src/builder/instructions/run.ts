/**
 * RUN (BuildKit's dispatchRun): the command runs in the sandbox on the stage's rootfs; what it changed
 * becomes the layer. How the step reaches the stage's files and how its diff is taken (overlay upper dir,
 * or walks before and after) is the stage filesystem's business (src/builder/rootfs/).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunInstruction } from '../../dockerfile/instructions/index.ts';
import { KilnError } from '../../errors.ts';
import { removeSoon } from '../../fs/remove-soon.ts';
import type { RunMountSpec, RunSpec } from '../../sandbox/types.ts';
import type { DispatchContext } from '../dispatch-context.ts';
import { historyEntry } from '../history.ts';
import { HEREDOC_SCRIPT_DIR, prepareRun, runCreatedBy, runEnvironment } from '../run-command.ts';
import { runMountSpecs } from '../run-mounts.ts';
import type { StageState } from '../state.ts';
import type { StepResult } from '../step-result.ts';

/** Paths a step's diff never contains: kernel filesystems and the sandbox's own mount points. */
const ALWAYS_IGNORED = ['/proc', '/sys', '/dev'];

function runFailed(inst: RunInstruction, argv: readonly string[], exitCode: number): KilnError {
  return new KilnError('RUN_FAILED', `process "${argv.join(' ')}" did not complete successfully: exit code: ${exitCode}`, {
    location: { file: inst.location.file, line: inst.location.line, text: inst.location.text },
    exitCode,
  });
}

/** A heredoc script, shown to the step read-only at /dev/pipes/<name> (mounted, or copied in chroot mode). */
function scriptMount(stepDir: string, script: { name: string; data: string }): RunMountSpec {
  const dir = path.join(stepDir, 'pipes');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, script.name), script.data, { mode: 0o755 });
  return { type: 'bind', target: HEREDOC_SCRIPT_DIR, source: dir, readOnly: true };
}

/** The history entry of a RUN, whether it ran or its layer came from the cache. */
export function runHistory(state: StageState, inst: RunInstruction): StepResult['history'] {
  return historyEntry(runCreatedBy(prepareRun(inst, state.config).argv, state.vars), { layer: true, fromFilesystemChange: true });
}

/** Counts this RUN off the build's; how many RUN steps follow it (0 when not counted). */
function takeRun(run: DispatchContext['run']): number {
  if (run.runsLeft === undefined) return 0;
  run.runsLeft.count = Math.max(0, run.runsLeft.count - 1);
  return run.runsLeft.count;
}

export async function dispatchRun(state: StageState, inst: RunInstruction, ctx: DispatchContext): Promise<StepResult> {
  const prepared = prepareRun(inst, state.config);
  const isolation = await ctx.run.isolation();
  const stepDir = ctx.stepDir();
  try {
    const { mounts, env: mountEnv } = await runMountSpecs(inst, {
      rootOf: (from) => (from === undefined ? Promise.resolve(ctx.contextRoot) : ctx.copySource(inst, from).then((s) => ctx.rootfs(s.state))),
      cacheRoot: ctx.run.cacheRoot,
      secrets: ctx.run.secrets,
      ssh: ctx.run.ssh,
      env: process.env,
    });
    if (prepared.script) mounts.push(scriptMount(stepDir, prepared.script));
    const spec: Omit<RunSpec, 'rootfs'> = {
      argv: prepared.argv,
      env: [...runEnvironment(state.vars, ctx.run.proxies), ...mountEnv],
      cwd: state.config.config.WorkingDir || '/',
      user: state.config.config.User ?? '',
      isolation,
      network: inst.network,
      mounts,
      stdout: process.stdout,
      stderr: process.stderr,
      tempDir: stepDir,
      tempDirRemovedByCaller: true,
      ...(ctx.run.signal ? { signal: ctx.run.signal } : {}),
    };
    const stepsAfter = takeRun(ctx.run);
    if (stepsAfter > 0) spec.stepsAfter = stepsAfter;
    const ignore = [...ALWAYS_IGNORED, ...mounts.map((m) => m.target).filter((t) => t !== '')];
    const outcome = await ctx.runStep(state, spec, stepDir, ignore);
    if (outcome.exitCode !== 0) throw runFailed(inst, prepared.argv, outcome.exitCode);
    const layer = await ctx.commitEntries(state, outcome.snapshot().entries);
    outcome.settle();
    return { ...(layer ? { layer } : {}), history: runHistory(state, inst) };
  } finally {
    removeSoon(stepDir);
  }
}
