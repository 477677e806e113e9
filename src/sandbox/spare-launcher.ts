/**
 * A launcher started ahead of its step: setpriv, unshare and perl (launcher.pl) are spawned while earlier
 * work runs, and wait in their fresh namespaces for the plan's path on stdin. A RUN step then
 * costs neither a fork of Kiln's ~100 MB process (~10 ms of its main thread) nor the three programs' start
 * (~15 ms) on its critical path. One spare at a time, for one kind of launch (isolation and network); a spare
 * of another kind is killed and a fresh launcher spawned. A spare holds nothing (no plan, no mounts but its
 * namespace's own copy) and does not keep Kiln's event loop alive; it dies with Kiln (death signal, as every
 * launcher) or when the next spare replaces it.
 */
import { isAlive, type ProcessHandle } from './spawner.ts';
import { isNamespaced, type ResolvedIsolation, type RunSpec } from './types.ts';

type Spawner = (isolation: ResolvedIsolation, network: RunSpec['network']) => ProcessHandle;

interface Spare {
  key: string;
  child: ProcessHandle;
}

let spare: Spare | undefined;

/** Launches that can share a spare: namespaces are made at spawn, and `--network=none` makes one more. */
function launchKey(isolation: ResolvedIsolation, network: RunSpec['network']): string {
  return `${isolation}:${network === 'none' ? 'no-net' : 'net'}`;
}

/** Whether `child` (and its stdio) keeps Kiln's event loop alive. */
export function setRef(child: ProcessHandle, on: boolean): void {
  for (const handle of [child, ...child.stdio] as ({ ref?(): void; unref?(): void } | null | undefined)[]) {
    if (handle === null || handle === undefined) continue;
    if (on) handle.ref?.();
    else handle.unref?.();
  }
}

function kill(s: Spare): void {
  // The pid is unshare's (setpriv execs it); --kill-child takes the waiting launcher along.
  if (isAlive(s.child)) s.child.kill('SIGKILL');
}

/** Starts a spare for the next namespaced step of this kind, unless one is waiting already. */
export function prepareSpare(isolation: ResolvedIsolation, network: RunSpec['network'], spawnLauncher: Spawner): void {
  if (!isNamespaced(isolation)) return;
  const key = launchKey(isolation, network);
  if (spare !== undefined && spare.key === key && isAlive(spare.child)) return;
  dropSpare();
  const child = spawnLauncher(isolation, network);
  child.on('error', () => {});
  setRef(child, false);
  spare = { key, child };
}

/** The waiting spare for this kind of launch, taken out of the pool (and referenced again); undefined if none. */
export function takeSpare(isolation: ResolvedIsolation, network: RunSpec['network']): ProcessHandle | undefined {
  const s = spare;
  spare = undefined;
  if (s === undefined) return undefined;
  if (s.key !== launchKey(isolation, network) || !isAlive(s.child)) {
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

/** pid of the waiting spare once its start is known (a spawner's child reports it), if any (tests). */
export async function sparePid(): Promise<number | undefined> {
  const child = spare?.child;
  if (child === undefined) return undefined;
  if (child.pid === undefined && isAlive(child)) {
    await new Promise<void>((resolve) => {
      child.once('spawn', resolve);
      child.once('close', () => resolve());
    });
  }
  return child.pid;
}
