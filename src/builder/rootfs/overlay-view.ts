/**
 * A stage's layer dirs seen as one directory without laying them out: an overlay mounted in the private mount
 * namespace of the build's view holder (overlay-view-holder.ts), reached through `/proc/PID/root`. This file
 * holds what a view is and how it is asked for: the mount options and the holder's line protocol
 * (overlay-view-holder.pl describes it).
 *
 * Writable (an upper dir given): what is written lands in the upper dir, in overlayfs's own format, ready to
 * serve as the next lower dir of the stage. Read-only: lower dirs only.
 */

export interface OverlayViewSpec {
  /** Directory the layer paths below are relative to (short paths keep the mount options within a page). */
  base: string;
  /** Lower dirs relative to `base`, topmost first. */
  lower: readonly string[];
  /** Upper and work dirs relative to `base`; without them the view is read-only. */
  upper?: string;
  work?: string;
  /** An empty directory (absolute) to mount on. */
  mountPoint: string;
}

export interface OverlayView {
  /** The merged tree, as a path Kiln's own processes can use. */
  root: string;
  /** Unmounts; once it resolves the upper dir is an ordinary directory again. */
  close(): Promise<void>;
}

/** overlayfs's mount options; a read-only view needs at least two lower dirs (add an empty one). */
export function overlayOptions(spec: Pick<OverlayViewSpec, 'lower' | 'upper' | 'work'>): string {
  const upper = spec.upper === undefined ? '' : `,upperdir=${spec.upper},workdir=${spec.work}`;
  return `lowerdir=${spec.lower.join(':')}${upper}`;
}

/** One request line: the fields percent-encoded, so a path may hold spaces, line breaks, anything. */
export function requestLine(op: 'mount' | 'umount', id: number, args: readonly string[]): string {
  return `${[op, String(id), ...args].map((field) => encodeURIComponent(field)).join(' ')}\n`;
}

export type HolderAnswer = { id: number; ok: true } | { id: number; ok: false; message: string };

/** An answer line ("ok ID", "err ID MESSAGE"); undefined for anything else. */
export function parseAnswer(line: string): HolderAnswer | undefined {
  const m = /^(ok|err) (\d+)(?: (.*))?$/.exec(line);
  if (m === null) return undefined;
  const id = Number(m[2]);
  return m[1] === 'ok' ? { id, ok: true } : { id, ok: false, message: m[3] ?? 'no reason given' };
}
