/**
 * A launcher started ahead of its step: setpriv, unshare and perl (launcher.pl) are spawned while earlier
 * work runs, and wait in their fresh namespaces for the plan's path on stdin. A RUN step then
 * costs neither a fork of Kiln's ~100 MB process (~10 ms of its main thread) nor the three programs' start
 * (~15 ms) on its critical path. Up to two spares wait, for one kind of launch (isolation and network): the
 * next step's and the one after's, so that a spare started when a step ends has a whole step to get ready
 * (a spare takes ~25–30 ms to start; a RUN step and its snapshot take ~50 ms, and the next step starts
 * ~10–25 ms after the previous one ends). Spares of another kind are killed and a fresh launcher spawned. A
 * spare holds nothing (no plan, no mounts but its namespace's own copy) and does not keep Kiln's event loop
 * alive; it dies with Kiln (death signal, as every launcher) or when spares of another kind replace it.
 */
import { isAlive, setProcessRef, startedPid, type ProcessHandle } from '../spawner.ts';
import { isNamespaced, type ResolvedIsolation, type RunSpec } from './types.ts';

type Spawner = (isolation: ResolvedIsolation, network: RunSpec['network']) => ProcessHandle;

interface Spare {
  key: string;
  child: ProcessHandle;
}

/** The most spares that wait at once. */
export const MAX_SPARES = 2;

/** Waiting spares, oldest (the next step's) first; all of one kind. */
let spares: Spare[] = [];

/** Launches that can share a spare: namespaces are made at spawn, and `--network=none` makes one more. */
function launchKey(isolation: ResolvedIsolation, network: RunSpec['network']): string {
  return `${isolation}:${network === 'none' ? 'no-net' : 'net'}`;
}

function kill(s: Spare): void {
  // The pid is unshare's (setpriv execs it); --kill-child takes the waiting launcher along.
  if (isAlive(s.child)) s.child.kill('SIGKILL');
}

/**
 * Makes `wanted` spares (at most MAX_SPARES) wait for the next namespaced steps of this kind, counting those
 * already waiting; spares of another kind, or dead ones, are dropped first.
 */
export function prepareSpares(isolation: ResolvedIsolation, network: RunSpec['network'], wanted: number, spawnLauncher: Spawner): void {
  if (!isNamespaced(isolation)) return;
  const key = launchKey(isolation, network);
  for (const s of spares) if (s.key !== key || !isAlive(s.child)) kill(s);
  spares = spares.filter((s) => s.key === key && isAlive(s.child));
  while (spares.length < Math.min(wanted, MAX_SPARES)) {
    const child = spawnLauncher(isolation, network);
    child.on('error', () => {});
    setProcessRef(child, false);
    spares.push({ key, child });
  }
}

/** The oldest waiting spare for this kind of launch, taken out of the pool (and referenced again); undefined if none. */
export function takeSpare(isolation: ResolvedIsolation, network: RunSpec['network']): ProcessHandle | undefined {
  const key = launchKey(isolation, network);
  while (spares.length > 0) {
    const s = spares.shift()!;
    if (s.key === key && isAlive(s.child)) {
      setProcessRef(s.child, true);
      return s.child;
    }
    kill(s);
  }
  return undefined;
}

/** Kills the waiting spares (tests; a build that ends has them killed by Kiln's exit). */
export function dropSpare(): void {
  for (const s of spares) kill(s);
  spares = [];
}

/** pids of the waiting spares, oldest first, once their starts are known (a spawner's child reports it; tests). */
export async function sparePids(): Promise<number[]> {
  const pids = await Promise.all(spares.map(({ child }) => startedPid(child)));
  return pids.filter((pid): pid is number => pid !== undefined);
}

/** pid of the oldest waiting spare once its start is known, if any (tests). */
export async function sparePid(): Promise<number | undefined> {
  return (await sparePids())[0];
}
