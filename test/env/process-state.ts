/** Whether a process the test started is still there, and waiting until it is gone. */
import { readFileSync } from 'node:fs';

/** Alive and not a zombie (a child nobody reaped yet counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

/** Waits up to `ms` for `pid` to be gone; whether it is. */
export async function waitGone(pid: number, ms = 3000): Promise<boolean> {
  for (const end = Date.now() + ms; isRunning(pid) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
  return !isRunning(pid);
}
