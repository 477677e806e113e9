/**
 * A launcher started ahead of its step: setpriv, unshare and perl (launcher.pl) are spawned while earlier
 * work runs, and wait in their fresh namespaces for the plan's path on stdin. A RUN step then
 * costs neither a fork of Kiln's ~100 MB process (~10 ms of its main thread) nor the three programs' start
 * (~15 ms) on its critical path. One spare at a time, for one kind of launch (isolation and network); a spare
 * of another kind is killed and a fresh launcher spawned. A spare holds nothing (no plan, no mounts but its
 * namespace's own copy) and does not keep Kiln's event loop alive; it dies with Kiln (death signal, as every
 * launcher) or when the next spare replaces it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { isNamespaced, type ResolvedIsolation, type RunSpec } from './types.ts';

type Spawner = (isolation: ResolvedIsolation, network: RunSpec['network']) => ChildProcess;

interface Spare {
  key: string;
  child: ChildProcess;
}

let spare: Spare | undefined;

/** Launches that can share a spare: namespaces are made at spawn, and `--network=none` makes one more. */
function launchKey(isolation: ResolvedIsolation, network: RunSpec['network']): string {
  return `${isolation}:${network === 'none' ? 'no-net' : 'net'}`;
}

function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Whether `child` (and its stdio) keeps Kiln's event loop alive. */
export function setRef(child: ChildProcess, on: boolean): void {
  for (const handle of [child, ...child.stdio] as (ChildProcess | Socket | null)[]) {
    if (handle === null) continue;
    if (on) handle.ref?.();
    else handle.unref?.();
  }
}

function kill(s: Spare): void {
  // The pid is unshare's (setpriv execs it); --kill-child takes the waiting launcher along.
  try { if (isRunning(s.child)) process.kill(s.child.pid!, 'SIGKILL'); } catch { /* gone */ }
}

/** Starts a spare for the next namespaced step of this kind, unless one is waiting already. */
export function prepareSpare(isolation: ResolvedIsolation, network: RunSpec['network'], spawnLauncher: Spawner): void {
  if (!isNamespaced(isolation)) return;
  const key = launchKey(isolation, network);
  if (spare !== undefined && spare.key === key && isRunning(spare.child)) return;
  dropSpare();
  const child = spawnLauncher(isolation, network);
  child.on('error', () => {});
  setRef(child, false);
  spare = { key, child };
}

/** The waiting spare for this kind of launch, taken out of the pool (and referenced again); undefined if none. */
export function takeSpare(isolation: ResolvedIsolation, network: RunSpec['network']): ChildProcess | undefined {
  const s = spare;
  spare = undefined;
  if (s === undefined) return undefined;
  if (s.key !== launchKey(isolation, network) || !isRunning(s.child)) {
    kill(s);
    return undefined;
  }
  setRef(s.child, true);
  return s.child;
}

/** Kills the waiting spare, if any (tests; a build that ends has it killed by Kiln's exit). */
export function dropSpare(): void {
  if (spare !== undefined) kill(spare);
  spare = undefined;
}

/** pid of the waiting spare, if any (tests). */
export function sparePid(): number | undefined {
  return spare?.child.pid;
}
