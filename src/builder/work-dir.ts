/**
 * A build's private working directory: stage root filesystems and the blob store of layers it made.
 * Lives outside every rootfs; removed when the build ends, whatever happened.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobStore } from '../image/blob-store.ts';

export interface WorkDir {
  root: string;
  blobs: BlobStore;
  /** A fresh, empty directory for a stage's rootfs. */
  newRootfs(stageIndex: number): string;
  /** A fresh, empty private directory for one step (mode 0700). */
  newStepDir(): string;
  remove(): void;
}

export function createWorkDir(parent: string = process.env.KILN_WORK_DIR ?? os.tmpdir()): WorkDir {
  fs.mkdirSync(parent, { recursive: true });
  const root = fs.mkdtempSync(path.join(parent, 'kiln-build-'));
  let rootfsCount = 0;
  return {
    root,
    blobs: new BlobStore(path.join(root, 'blobs')),
    newRootfs(stageIndex) {
      const dir = path.join(root, `rootfs-${stageIndex}-${rootfsCount++}`);
      fs.mkdirSync(dir, { mode: 0o755 });
      return dir;
    },
    newStepDir() {
      return fs.mkdtempSync(path.join(root, 'step-'));
    },
    remove() {
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
