/** The work dir leaves the exit path: renamed to trash at once, deleted by a detached child; leftovers swept. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWorkDir, leftoverTrash, removeInBackground, TRASH_PREFIX } from '../../../src/builder/work-dir.ts';
import { spawnerPid, spawnProcess, startSpawner, startedPid } from '../../../src/spawner.ts';
import { pidsWithCmdline } from '../../integration/sandbox/helpers.ts';


/** Resolves once the spawner answers (it runs a child). */
async function spawnerReady(): Promise<void> {
  await startedPid(spawnProcess('true', [], { env: { PATH: '/usr/bin:/bin' }, pipes: [] }));
}

function parentDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-workdir-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function until(check: () => boolean, ms = 15_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (check()) return true;
  return check();
}

function fill(dir: string, files: number): void {
  for (let i = 0; i < files; i++) {
    fs.mkdirSync(path.join(dir, `d${i % 10}`), { recursive: true });
    fs.writeFileSync(path.join(dir, `d${i % 10}`, `f${i}`), 'x');
  }
}

test('discard() frees the work dir name at once and the trash disappears in the background', async (t) => {
  const parent = parentDir(t);
  const work = createWorkDir(parent);
  fill(work.newRootfs(0), 500);
  fs.mkdirSync(path.join(await work.newLayerDir(), 'etc'));
  await work.discard();
  assert.equal(fs.existsSync(work.root), false, 'the work dir is gone from its name when discard returns');
  assert.ok(await until(() => fs.readdirSync(parent).length === 0), `left in ${parent}: ${fs.readdirSync(parent).join(', ')}`);
});

test('remove() deletes synchronously (failure and signal paths)', (t) => {
  const parent = parentDir(t);
  const work = createWorkDir(parent);
  fill(work.newRootfs(0), 20);
  work.remove();
  assert.deepEqual(fs.readdirSync(parent), []);
});

test('trash left behind by an earlier build is deleted by the next build in the same parent', async (t) => {
  const parent = parentDir(t);
  const stale = path.join(parent, `${TRASH_PREFIX}kiln-build-old-1`);
  fs.mkdirSync(stale);
  fill(stale, 50);
  assert.deepEqual(leftoverTrash(parent), [stale]);
  const work = createWorkDir(parent);
  assert.ok(await until(() => !fs.existsSync(stale)));
  assert.ok(fs.existsSync(work.root), 'the new work dir is not trash');
  work.remove();
});

test('layer dirs are distinct, in one dir, and named apart from any other build\'s (ext4 places them by name)', async (t) => {
  const parent = parentDir(t);
  const [one, two] = [createWorkDir(parent), createWorkDir(parent)];
  const [a, b, c] = [await one.newLayerDir(), await one.newLayerDir(), await two.newLayerDir()];
  assert.notEqual(a, b);
  assert.equal(path.dirname(a), path.dirname(b));
  assert.notEqual(path.basename(a), path.basename(c), 'the first layer dirs of two builds have different names');
  assert.equal(fs.statSync(a).mode & 0o777, 0o755);
  one.remove();
  two.remove();
});

test('removeInBackground reports when no remover can start', async () => {
  assert.equal(await removeInBackground(['/nonexistent-kiln-trash'], '/nonexistent/node', ['/nonexistent/rm']), false);
  assert.equal(await removeInBackground([]), true);
});

test('with the spawner running, the remover is its child, in a session of its own', async (t) => {
  const parent = parentDir(t);
  const trash = path.join(parent, `${TRASH_PREFIX}by-spawner`);
  fill(trash, 30);
  startSpawner();
  await spawnerReady();
  // A remover that stays long enough to be looked at: rm -rf of the trash, then a sleep (a fake rm binary).
  const fakeRm = path.join(parent, 'rm');
  fs.writeFileSync(fakeRm, `#!/bin/sh\n/bin/rm "$@"\nsleep 2\n`, { mode: 0o755 });
  assert.equal(await removeInBackground([trash], process.execPath, [fakeRm]), true);
  const sleeper = await until(() => pidsWithCmdline(fakeRm).length > 0, 5000);
  assert.ok(sleeper, 'the remover runs');
  const [pid] = pidsWithCmdline(fakeRm) as [number];
  t.after(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } });
  const raw = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  // After "(comm) ": state, ppid, pgrp, session.
  const [, ppid, , session] = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  assert.equal(Number(ppid), spawnerPid(), 'started by the spawner');
  assert.equal(Number(session), pid, 'a session of its own');
  assert.ok(await until(() => !fs.existsSync(trash)), 'the trash is deleted');
});

test('without an rm on the machine (Kiln\'s executor image), a plain node deletes the trash', async (t) => {
  const parent = parentDir(t);
  const trash = path.join(parent, `${TRASH_PREFIX}by-node`);
  fill(trash, 30);
  assert.equal(await removeInBackground([trash], process.execPath, ['/nonexistent/rm']), true);
  assert.ok(await until(() => !fs.existsSync(trash)), 'the node remover deleted the trash');
});
