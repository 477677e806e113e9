/**
 * A build's private working directory: stage root filesystems, step dirs, layer dirs and the blob store of
 * layers it made. Lives outside every rootfs; removed when the build ends, whatever happened.
 *
 * Removing a 20k-file tree costs seconds on a disk mounted with `discard` (measured: 11.7 s of a 26.7 s
 * build), time the user does not wait for once the image is written. So after a successful build the dir is
 * renamed to `kiln-trash-*` beside it (atomic: from then on it is nobody's work dir) and deleted by a detached
 * child that outlives Kiln. Trash left behind (the child killed, the machine rebooted) is deleted by the next
 * build that uses the same parent dir. Failures and signals remove it synchronously, as before.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HOST_TOOL_PATH } from '../bundled-tools.ts';
import { markTopDirs } from '../fs/top-dirs.ts';
import { BlobStore } from '../image/blob-store.ts';
import { setProcessRef, spawnWithRunningSpawner, startedPid } from '../spawner.ts';

export interface WorkDir {
  root: string;
  blobs: BlobStore;
  /** A fresh, empty directory for a stage's rootfs. */
  newRootfs(stageIndex: number): string;
  /** A fresh, empty private directory for one step (mode 0700). */
  newStepDir(): string;
  /**
   * A fresh, empty directory that outlives its step (an overlay upper dir that becomes a lower dir). Spread
   * over the filesystem (top-dirs.ts): it resolves once its parent is marked, or could not be.
   */
  newLayerDir(): Promise<string>;
  /** Removes the work dir now. */
  remove(): void;
  /**
   * Removes the work dir without waiting for the deletion: renamed to trash, deleted by a detached process.
   * Falls back to remove() when that cannot start (no node binary any more, e.g. after an in-place build
   * replaced `/`). Resolves once the remover runs.
   */
  discard(): Promise<void>;
}

export const TRASH_PREFIX = 'kiln-trash-';

/** The deleting child: argv[1…] are trash dirs; `force` ignores a dir already gone or being deleted by another. */
const REMOVER = "for (const d of process.argv.slice(1)) { try { require('fs').rmSync(d, { recursive: true, force: true, maxRetries: 3 }); } catch {} }";

/** The machine's `rm`: starts in a millisecond where a second node costs ~100 ms of CPU beside the next build. */
const HOST_RM = ['/usr/bin/rm', '/bin/rm'];

/**
 * Starts a detached process deleting `dirs` (the host's `rm -rf`, else a plain node); resolves false when none
 * could be started. Through the spawner when it already runs: Node's spawn() from Kiln's process blocked the
 * main thread ~10 ms, on the exit path of every build. Resolves once the remover runs, so Kiln may exit then
 * (the remover has a session of its own and outlives the spawner). Not for in-place builds, whose `/` is the
 * image's: no binary of it runs outside a RUN step.
 */
export async function removeInBackground(dirs: readonly string[], nodeBinary: string = process.execPath, rmBinaries: readonly string[] = HOST_RM): Promise<boolean> {
  if (dirs.length === 0) return true;
  const rm = rmBinaries.find((p) => fs.existsSync(p));
  if (rm === undefined && !fs.existsSync(nodeBinary)) return false;
  // A plain node: the build's NODE_OPTIONS (preloads, hooks, flags) are not the remover's business.
  const [command, args, env] = rm !== undefined
    ? [rm, ['-rf', '--', ...dirs], { PATH: HOST_TOOL_PATH }]
    : [nodeBinary, ['-e', REMOVER, ...dirs], nodeEnvironment()];
  const options = { env, pipes: [], detached: true } as const;
  try {
    const child = spawnWithRunningSpawner(command, args, options);
    // Referenced until it runs (the answer must come before Kiln may exit), then left to itself.
    const started = (await startedPid(child)) !== undefined;
    setProcessRef(child, false);
    return started;
  } catch {
    return false;
  }
}

/** Kiln's environment without NODE_OPTIONS, for the node remover. */
function nodeEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'NODE_OPTIONS') env[key] = value;
  return env;
}

/** Moves `dir` to a fresh trash name beside it; the trash path, or undefined when it could not be renamed. */
export function moveToTrash(dir: string): string | undefined {
  const trash = path.join(path.dirname(dir), `${TRASH_PREFIX}${path.basename(dir)}-${process.pid}`);
  try {
    fs.renameSync(dir, trash);
    return trash;
  } catch {
    return undefined;
  }
}

/** Trash left in `parent` by builds whose removing child did not finish. */
export function leftoverTrash(parent: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(TRASH_PREFIX)).map((n) => path.join(parent, n));
}

export function createWorkDir(parent: string = process.env.KILN_WORK_DIR ?? os.tmpdir()): WorkDir {
  fs.mkdirSync(parent, { recursive: true });
  void removeInBackground(leftoverTrash(parent));
  const root = fs.mkdtempSync(path.join(parent, 'kiln-build-'));
  let rootfsCount = 0;
  let layerCount = 0;
  const layers = path.join(root, 'u');
  fs.mkdirSync(layers, { mode: 0o755 });
  // Stage rootfs dirs (children of root) and layer dirs are spread over the disk (top-dirs.ts). A layer dir
  // waits for its parent's mark; a rootfs dir does not (it is made after the base image is resolved, by then
  // the mark is long set, and a rootfs made sooner is only placed as before).
  const layersSpread = markTopDirs([root, layers]);
  const remove = (): void => { fs.rmSync(root, { recursive: true, force: true }); };
  return {
    root,
    blobs: new BlobStore(path.join(root, 'blobs')),
    newRootfs(stageIndex) {
      const dir = fs.mkdtempSync(path.join(root, `rootfs-${stageIndex}-${rootfsCount++}-`));
      fs.chmodSync(dir, 0o755);
      return dir;
    },
    newStepDir() {
      return fs.mkdtempSync(path.join(root, 'step-'));
    },
    async newLayerDir() {
      await layersSpread;
      // A name of its own: where ext4 puts a top directory's child starts from the hash of its name.
      const dir = fs.mkdtempSync(path.join(layers, `${layerCount++}-`));
      fs.chmodSync(dir, 0o755);
      return dir;
    },
    remove,
    async discard() {
      const trash = moveToTrash(root);
      if (trash === undefined) return remove();
      if (!(await removeInBackground([trash]))) fs.rmSync(trash, { recursive: true, force: true });
    },
  };
}
