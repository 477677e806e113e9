/**
 * How a RUN step runs on a stage's files and what its diff is. With an overlay (namespace isolation) the
 * step writes to an upper dir, which *is* the diff (O(changed files)); without mounts (chroot, in place)
 * the root is walked before and after, compared as --snapshot-mode says.
 */
import fs from 'node:fs';
import path from 'node:path';
import { applyUpperToLower } from '../../fs/snapshot/overlay-apply.ts';
import { stackedLower, type LayerDir } from '../../fs/snapshot/lower-view.ts';
import { overlayUpperChanges, overlayUpperEntries, upperOpaqueDirs } from '../../fs/snapshot/overlay.ts';
import { pruneUpper } from '../../fs/snapshot/overlay-prune.ts';
import { takeSnapshot } from '../../fs/snapshot/stat-map.ts';
import type { SnapshotResult } from '../../fs/snapshot/types.ts';
import { diffSnapshots, type SnapshotMode } from '../../fs/snapshot/walk.ts';
import { runStep } from '../../sandbox/index.ts';
import type { RunSpec } from '../../sandbox/types.ts';

export interface StepOutcome {
  exitCode: number;
  /** The step's changes as layer entries (their content is read from disk when the layer is written). */
  snapshot(): SnapshotResult;
  /** Makes the stage rootfs reflect the step, once the layer is written. */
  settle(): void;
}

export type StepSpec = Omit<RunSpec, 'rootfs'>;

const NO_CHANGES: SnapshotResult = { entries: [], changedPaths: [] };

/** `diff: false` (--single-snapshot): the step's changes are taken with the stage's one snapshot at its end. */
export async function runInOverlay(spec: StepSpec, rootfs: string, stepDir: string, ignore: string[], diff = true): Promise<StepOutcome> {
  const upper = path.join(stepDir, 'upper');
  const work = path.join(stepDir, 'work');
  fs.mkdirSync(upper);
  fs.mkdirSync(work);
  const result = await runStep({ ...spec, rootfs: { kind: 'overlay', lower: [rootfs], upper, work } });
  const options = { exclude: result.mountStubs, ignorePaths: ignore };
  return {
    exitCode: result.exitCode,
    snapshot: () => (diff ? overlayUpperEntries(upper, { lower: rootfs, ...options }) : NO_CHANGES),
    settle: () => { applyUpperToLower(upper, rootfs, options); },
  };
}

/**
 * A step on a stack of read-only layer dirs (`lower` for the mount, topmost first; `view` the same dirs
 * for reading): nothing is copied back. The upper dir, pruned of mount stubs and ignored paths, becomes the
 * step's layer dir, handed to `settled` to be the next step's topmost lower.
 */
export async function runInStack(
  spec: StepSpec, layers: { mount: string[]; view: readonly LayerDir[] }, upper: string, stepDir: string, ignore: string[],
  settled: (layer: LayerDir) => void,
): Promise<StepOutcome> {
  const work = path.join(stepDir, 'work');
  fs.mkdirSync(work);
  const result = await runStep({ ...spec, rootfs: { kind: 'overlay', lower: layers.mount, upper, work } });
  const options = { exclude: result.mountStubs, ignorePaths: ignore };
  let opaque: string[] | undefined;
  return {
    exitCode: result.exitCode,
    snapshot: () => {
      const changes = overlayUpperChanges(upper, { lower: stackedLower(layers.view), ...options });
      opaque = changes.opaqueDirs;
      return changes.result;
    },
    settle: () => {
      pruneUpper(upper, options);
      settled({ dir: upper, opaque: new Set(opaque ?? upperOpaqueDirs(upper)) });
    },
  };
}

export async function runWithWalk(spec: StepSpec, rootfs: string, ignore: string[], mode: SnapshotMode, diff = true): Promise<StepOutcome> {
  const before = diff ? takeSnapshot(rootfs, { ignorePaths: ignore, content: mode === 'full' }) : undefined;
  const result = await runStep({ ...spec, rootfs: { kind: 'dir', path: rootfs } });
  return {
    exitCode: result.exitCode,
    snapshot: () => (before === undefined ? NO_CHANGES : diffSnapshots(before, rootfs, { mode })),
    settle: () => {},
  };
}
