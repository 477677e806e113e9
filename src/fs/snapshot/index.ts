/** Snapshots of RUN steps: what a step changed in a stage rootfs, as layer entries. */
export type { SnapshotResult } from './types.ts';
export { overlayUpperEntries, isOverlayWhiteout, type OverlayUpperOptions } from './overlay.ts';
export { applyUpperToLower, type ApplyUpperOptions, type ApplyUpperStats } from './overlay-apply.ts';
export { takeSnapshot, type FsSnapshot, type TakeSnapshotOptions } from './stat-map.ts';
export { diffSnapshots, type DiffOptions, type SnapshotMode, type WalkSnapshotResult } from './walk.ts';
