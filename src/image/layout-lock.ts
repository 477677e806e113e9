/**
 * A lock on an OCI image layout's index.json, so that builds (and `kiln warm`) sharing one layout on a
 * volume never lose each other's entries: index.json is only ever read, changed and replaced (by rename)
 * while holding `index.json.lock`, created with O_EXCL. The lock is held for a few milliseconds; one older
 * than STALE_MS belongs to a writer that died (a pid says nothing across containers), and is broken.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KilnError } from '../errors.ts';

const STALE_MS = 30_000;
const WAIT_MS = 120_000;

function tryAcquire(lock: string): boolean {
  try {
    fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function breakIfStale(lock: string): void {
  try {
    if (Date.now() - fs.statSync(lock).mtimeMs > STALE_MS) fs.rmSync(lock, { force: true });
  } catch {
    // Released meanwhile.
  }
}

/** Runs `update` (synchronous: a read-modify-write of index.json) while holding the layout's lock. */
export async function withIndexLock<T>(dir: string, update: () => T): Promise<T> {
  const lock = path.join(dir, 'index.json.lock');
  const deadline = Date.now() + WAIT_MS;
  let delay = 2;
  while (!tryAcquire(lock)) {
    if (Date.now() > deadline) {
      throw new KilnError('LAYOUT_LOCKED', `${lock} is held by another writer for more than ${WAIT_MS / 1000}s`, {
        hint: `remove ${lock} if no build or kiln warm is writing to ${dir}`,
      });
    }
    breakIfStale(lock);
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 100);
  }
  try {
    return update();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}
