/**
 * Last-resort cleanup when a test process ends without calling stop(): kill the servers it started and
 * remove their temp dirs. This is process-wide by nature (one 'exit' hook per process), hence the one
 * module-level set.
 */
import { rmSync } from 'node:fs';

export interface Leftover {
  pid?: number;
  dir?: string;
}

const leftovers = new Set<Leftover>();
let hooked = false;

function cleanUpNow(): void {
  for (const item of leftovers) {
    if (item.pid !== undefined) {
      try { process.kill(item.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    if (item.dir !== undefined) {
      try { rmSync(item.dir, { recursive: true, force: true }); } catch { /* best effort at exit */ }
    }
  }
  leftovers.clear();
}

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanUpNow);
  // A signal ends Node without 'exit'; run the cleanup, then die the way the signal asked. When someone else
  // also listens (the CLI stops its servers itself), leave the signal to them.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) return;
      cleanUpNow();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Remember something to remove if the process ends first; returns a function that forgets it. */
export function registerLeftover(item: Leftover): () => void {
  installHooks();
  leftovers.add(item);
  return () => { leftovers.delete(item); };
}
