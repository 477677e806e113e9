/**
 * The build's overlay view holder: one small process (overlay-view-holder.pl, forked by the spawner in a mount
 * namespace of its own, or started by `unshare --mount` where the spawner cannot run)
 * that mounts and unmounts every overlay view of the build in its private mount namespace, on request over its
 * stdin, answering on its stdout; Kiln reaches a view through `/proc/PID/root/<mount point>`. One process for
 * the whole build instead of one per view (setpriv + unshare + perl: ~25 ms each).
 *
 * Nothing is mounted in Kiln's own (the machine's) mount namespace, so nothing can be left behind: the mounts
 * go with the holder, and the holder goes with Kiln (death signal). Closing the holder closes its stdin: it
 * unmounts what is still mounted and exits. While no request is in flight the holder does not keep Kiln's
 * event loop alive, so a holder nobody closed never holds Kiln up (it dies with Kiln).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST_TOOL_PATH, perlCommand } from '../../bundled-tools.ts';
import { setProcessRef, spawnForkedScript, startedPid, type ProcessHandle } from '../../spawner.ts';
import { overlayOptions, parseAnswer, requestLine, type OverlayView, type OverlayViewSpec } from './overlay-view.ts';

const holderPath = fileURLToPath(new URL('./overlay-view-holder.pl', import.meta.url));

interface Pending {
  op: 'mount' | 'umount';
  resolve: () => void;
  reject: (err: Error) => void;
}

export class OverlayViewHolder {
  #child: ProcessHandle | undefined;
  #exited: Promise<void> | undefined;
  /** Why the holder cannot serve: it could not start, or it is gone. */
  #failure: Error | undefined;
  #closed = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #stderr = '';
  #exitCode: number | null = null;

  /** The holder's pid once started (tests check that it goes away). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Whether the holder was started (its pid may not be known yet: the spawner reports it). */
  get started(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the holder now rather than at the first mount, so its start-up overlaps other work. */
  start(): void {
    if (!this.#closed) this.#spawn();
  }

  /** The holder's pid once it runs; undefined when it could not start or is gone. */
  running(): Promise<number | undefined> {
    return this.#child === undefined ? Promise.resolve(undefined) : startedPid(this.#child);
  }

  /** Mounts a view; rejects when the holder cannot mount (no CAP_SYS_ADMIN, no overlayfs there) or cannot run. */
  async mount(spec: OverlayViewSpec): Promise<OverlayView> {
    if (this.#closed) throw new Error('the overlay view holder is closed');
    this.#spawn();
    await this.#request('mount', [spec.base, overlayOptions(spec), spec.mountPoint]);
    // Known by now: the spawner reports a child's pid before anything it wrote.
    const pid = this.#child!.pid;
    let unmounted: Promise<void> | undefined;
    return {
      root: path.join(`/proc/${pid}/root`, spec.mountPoint),
      close: () => (unmounted ??= this.#request('umount', [spec.mountPoint])),
    };
  }

  /**
   * Ends the holder: it unmounts the views still open and exits; resolves once it is gone. Rejects when it
   * could not unmount one (it is gone all the same, and its mounts with its namespace).
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#child === undefined) return;
    const failedBefore = this.#failure !== undefined;
    this.#child.stdin!.end();
    this.#setRef(true);
    await this.#exited;
    if (!failedBefore && this.#exitCode !== 0) throw this.#failure ?? new Error('the overlay view holder failed');
  }

  #spawn(): ProcessHandle {
    if (this.#child !== undefined) return this.#child;
    // Forked by the spawner in a mount namespace of its own (no fork of Kiln, no exec: ~20 ms of CPU less than
    // setpriv, unshare and perl); its death signal is the spawner's, which dies with Kiln.
    const child = spawnForkedScript({ script: holderPath, namespaces: ['mount'], args: [process.arch] },
      ['setpriv', '--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--propagation', 'private', '--', ...perlCommand(), holderPath, process.arch],
      { pipes: [0, 1, 2], env: { PATH: HOST_TOOL_PATH } });
    this.#child = child;
    child.stdin!.on('error', () => {});
    child.stderr!.on('data', (d: Buffer) => { this.#stderr += d.toString(); });
    let buffered = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buffered += d;
      let end: number;
      while ((end = buffered.indexOf('\n')) >= 0) {
        this.#answer(buffered.slice(0, end));
        buffered = buffered.slice(end + 1);
      }
    });
    this.#exited = new Promise((resolve) => {
      child.on('error', (err) => {
        this.#exitCode ??= 127;
        this.#fail(new Error(`the overlay view holder could not start: ${err.message}`));
        resolve();
      });
      child.on('close', (code, signal) => {
        this.#exitCode ??= code ?? 128;
        this.#fail(new Error(`the overlay view holder exited (${code ?? signal}): ${this.#stderr.trim() || 'no output'}`));
        resolve();
      });
    });
    this.#setRef(false);
    return child;
  }

  #request(op: 'mount' | 'umount', args: readonly string[]): Promise<void> {
    // A holder that is gone holds no mounts any more: an unmount is done.
    if (this.#failure !== undefined) return op === 'umount' ? Promise.resolve() : Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { op, resolve, reject });
      this.#setRef(true);
      this.#child!.stdin!.write(requestLine(op, id, args));
    });
  }

  #answer(line: string): void {
    const answer = parseAnswer(line);
    const pending = answer && this.#pending.get(answer.id);
    if (!answer || !pending) return;
    this.#settle(answer.id);
    if (answer.ok) pending.resolve();
    else pending.reject(new Error(`overlay view ${pending.op}: ${answer.message}`));
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const [id, pending] of this.#pending) {
      this.#settle(id);
      if (pending.op === 'umount') pending.resolve();
      else pending.reject(this.#failure);
    }
  }

  #settle(id: number): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0 && !this.#closed) this.#setRef(false);
  }

  /** Whether the holder keeps Kiln's event loop alive: only while Kiln waits for it. */
  #setRef(on: boolean): void {
    if (this.#child !== undefined) setProcessRef(this.#child, on);
  }
}
