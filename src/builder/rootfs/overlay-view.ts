/**
 * A stage's layer dirs seen as one directory without laying them out: an overlay mounted in a private mount
 * namespace of a small holder process, reached through `/proc/PID/root`. Nothing is mounted in Kiln's own
 * (the machine's) mount namespace, so nothing can be left behind: the mount goes with the holder, and the
 * holder goes with Kiln (death signal). Costs one short-lived process, however big the stage is.
 *
 * Writable (an upper dir given): what is written lands in the upper dir, in overlayfs's own format, ready to
 * serve as the next lower dir of the stage. Read-only: lower dirs only.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { perlCommand } from '../../bundled-tools.ts';

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
  /** Unmounts and waits until the holder is gone (the upper dir is then an ordinary directory again). */
  close(): Promise<void>;
}

const toolPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The holder: mounts, says so, waits for its stdin to close, unmounts. */
const holderPath = fileURLToPath(new URL('./overlay-view.pl', import.meta.url));

/** overlayfs's mount options; a read-only view needs at least two lower dirs (add an empty one). */
function overlayOptions(spec: Pick<OverlayViewSpec, 'lower' | 'upper' | 'work'>): string {
  const upper = spec.upper === undefined ? '' : `,upperdir=${spec.upper},workdir=${spec.work}`;
  return `lowerdir=${spec.lower.join(':')}${upper}`;
}

/** Mounts the view; rejects when the holder cannot mount (no CAP_SYS_ADMIN, no overlayfs there). */
export function mountOverlayView(spec: OverlayViewSpec): Promise<OverlayView> {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--propagation', 'private', '--',
    ...perlCommand(), holderPath, process.arch, spec.base, overlayOptions(spec), spec.mountPoint], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: toolPath },
  });
  const exited = new Promise<number>((resolve) => {
    child.on('error', () => resolve(127));
    child.on('close', (code) => resolve(code ?? 128));
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdin.on('error', () => {});
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!out.includes('mounted\n') || child.pid === undefined) return;
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      const root = path.join(`/proc/${child.pid}/root`, spec.mountPoint);
      resolve({
        root,
        close: async () => {
          child.stdin.end();
          await exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`mounting an overlay view failed (exit ${code}): ${stderr.trim() || 'no output'}`)));
  });
}
