/** runStep: one RUN step in a stage's root filesystem, from plan to cleanup. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../errors.ts';
import { removeSoon } from '../fs/remove-soon.ts';
import { detectIsolation } from './detect-isolation.ts';
import { isFileMount, materialiseMounts, type MaterialisedMounts } from './emulated-mounts.ts';
import { buildPlan, emptyLowerDir, encodePlan, encodeSecretInputs, secretInputs } from './launch-plan.ts';
import { removeMountStubs } from './mount-stubs.ts';
import { parseStatus } from './status-channel.ts';
import { runLauncher } from './step-process.ts';
import type { ResolvedIsolation, RunMountSpec, RunResult, RunSpec } from './types.ts';

const launchFailedExitCode = 125;

async function resolveIsolation(spec: RunSpec): Promise<ResolvedIsolation> {
  return spec.isolation === 'auto' ? detectIsolation() : spec.isolation;
}

/** Where stubs landed on the host: the upper dir of an overlay, else the rootfs dir itself. */
function stubBase(spec: RunSpec): string {
  return spec.rootfs.kind === 'overlay' ? spec.rootfs.upper : spec.rootfs.path;
}

function abortedError(): KilnError {
  return new KilnError('RUN_ABORTED', 'RUN step aborted', { exitCode: 130 });
}

/** chroot and none modes have no mounts: file mounts are materialised in the rootfs (emulated-mounts.ts). */
function emulatesMounts(isolation: ResolvedIsolation): boolean {
  return isolation === 'chroot' || isolation === 'none';
}

/** The spec the launcher gets: with emulated mounts, only what it does itself for them (env= of secrets). */
function emulatedSpec(spec: RunSpec, isolation: ResolvedIsolation): RunSpec {
  if (!emulatesMounts(isolation)) return spec;
  const mounts = spec.mounts.filter((m) => m.env !== undefined).map((m) => ({ ...m, target: '' }));
  return { ...spec, mounts };
}

function placeMounts(spec: RunSpec, isolation: ResolvedIsolation, stepDir: string): MaterialisedMounts | undefined {
  if (!emulatesMounts(isolation) || spec.rootfs.kind !== 'dir' || !spec.mounts.some(isFileMount)) return undefined;
  const value = (m: RunMountSpec) => m.content ?? readFileSync(m.source as string);
  return materialiseMounts(spec.rootfs.path, spec.mounts, stepDir, value);
}

/**
 * Run `spec.argv` inside `spec.rootfs` and wait until every process of the step is gone. Resolves with the
 * step's exit code (non-zero codes are results, not errors); rejects with a KilnError when the step cannot
 * start (bad user, missing command, mount failure, unsupported combination) or is aborted.
 */
export async function runStep(spec: RunSpec): Promise<RunResult> {
  if (spec.signal?.aborted) throw abortedError();
  const isolation = await resolveIsolation(spec);
  const stepDir = mkdtempSync(join(spec.tempDir ?? tmpdir(), 'kiln-step-'));
  let placed: MaterialisedMounts | undefined;
  try {
    const planned = emulatedSpec(spec, isolation);
    const records = buildPlan(planned, { isolation, stepDir, parentPid: process.pid, arch: process.arch }, existsSync);
    mkdirSync(join(stepDir, 'ns'));
    if (spec.rootfs.kind === 'overlay' && spec.rootfs.lower.length === 0) mkdirSync(emptyLowerDir(stepDir));
    const planPath = join(stepDir, 'plan');
    writeFileSync(planPath, encodePlan(records), { mode: 0o600 });
    placed = placeMounts(spec, isolation, stepDir);

    const exit = await runLauncher({
      isolation, planPath, network: spec.network, input: encodeSecretInputs(secretInputs(planned)), stdout: spec.stdout, stderr: spec.stderr, signal: spec.signal,
      ...(spec.stepsAfter ? { stepsAfter: spec.stepsAfter } : {}),
    });
    const status = parseStatus(exit.status);
    placed?.restore();
    // In place, the launcher makes no stubs (the container has /dev, /etc files): only emulated mounts do.
    const stubs = [...(placed?.stubs ?? []), ...(isolation === 'none' ? [] : status.stubs)];
    placed = undefined;
    const mountStubs = removeMountStubs(stubBase(spec), stubs);
    if (exit.aborted) throw abortedError();
    if (status.error !== undefined && exit.exitCode === launchFailedExitCode) {
      throw new KilnError(status.error.code, status.error.message);
    }
    return { exitCode: exit.exitCode, mountStubs, isolation };
  } finally {
    placed?.restore();
    if (spec.tempDirRemovedByCaller) removeSoon(stepDir);
    else rmSync(stepDir, { recursive: true, force: true });
  }
}
