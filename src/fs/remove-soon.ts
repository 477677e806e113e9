/**
 * Removal of a step's scratch directory without waiting for it. A step dir (mount points, the overlay's work
 * dir, the launch plan, pipes) is a handful of directories; removing it in the main thread cost ~2.5 ms a
 * step here (each freed directory block is discarded on a disk mounted with `discard`), ~50 ms of runheavy's
 * ten steps, all in front of the next step. fs.rm runs on libuv's thread pool instead. Only for directories
 * inside a build's work dir: whatever is still there when the build ends goes with the work dir.
 */
import { rm } from 'node:fs';

/** Starts removing `dir` (recursively; gone already is fine); errors are left to the work dir's removal. */
export function removeSoon(dir: string): void {
  rm(dir, { recursive: true, force: true, maxRetries: 2 }, () => {});
}
