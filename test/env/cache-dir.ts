/**
 * Build a directory once and keep it in the env cache. Several test processes may ask at the same time:
 * one builds under a lock (a directory, stale when its owner died), the others wait; the result appears
 * atomically by rename, so a half-built directory is never seen.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const lockWaitMs = 15 * 60 * 1000;

function ownerAlive(lockDir: string): boolean {
  try {
    const pid = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but is not ours. No pid file yet: the owner is just starting, unless that
    // was long ago (it died between mkdir and writing the pid).
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM') return true;
    if (code !== 'ENOENT') return false;
    try { return Date.now() - statSync(lockDir).mtimeMs < 10_000; } catch { return false; }
  }
}

async function acquireLock(lockDir: string): Promise<void> {
  const deadline = Date.now() + lockWaitMs;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!ownerAlive(lockDir)) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockDir}`);
    await sleep(250);
  }
}

/**
 * Return `finalDir`, building it first with `build(tempDir)` when it does not exist yet. `build` creates the
 * temp dir it is given (its parent exists); it is renamed to `finalDir` on success and removed on failure.
 */
export async function cachedDir(finalDir: string, build: (tempDir: string) => Promise<void>): Promise<string> {
  if (existsSync(finalDir)) return finalDir;
  mkdirSync(dirname(finalDir), { recursive: true });
  const lockDir = `${finalDir}.lock`;
  await acquireLock(lockDir);
  try {
    if (existsSync(finalDir)) return finalDir;
    const tempDir = `${finalDir}.tmp-${process.pid}`;
    rmSync(tempDir, { recursive: true, force: true });
    try {
      await build(tempDir);
      renameSync(tempDir, finalDir);
    } catch (error) {
      rmSync(tempDir, { recursive: true, force: true });
      throw error;
    }
    return finalDir;
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
