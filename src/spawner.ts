/**
 * Processes started through Kiln's spawner (spawner.pl): one small perl process, started once, forks and execs
 * what Kiln asks for and relays the children's pipes over its own stdin and stdout. Node's spawn() from Kiln's
 * ~100 MB process blocks the main thread 6–16 ms per child (fork copies the page tables, then waits for the
 * child's exec); a build starts one RUN launcher per step and several helpers, all in front of a step.
 *
 * A SpawnedProcess looks like the part of a ChildProcess Kiln uses: pid, stdin, stdout, stderr, stdio[3],
 * exitCode/signalCode, kill(), and the 'spawn', 'error', 'exit' and 'close' events in Node's order ('close'
 * after 'exit' and the end of every pipe). Where the spawner cannot run, spawnProcess() uses Node's spawn().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { HOST_TOOL_PATH, perlCommand } from './bundled-tools.ts';

const spawnerPath = fileURLToPath(new URL('./spawner.pl', import.meta.url));

export type PipedFd = 0 | 1 | 2 | 3;

export interface SpawnOptions {
  /** The child's whole environment. */
  env: Record<string, string>;
  cwd?: string;
  /** A session (and process group) of its own. */
  detached?: boolean;
  /** The fds among 0–3 that are pipes to Kiln; fds 0–2 that are not are /dev/null, fd 3 is closed. */
  pipes: readonly PipedFd[];
}

/**
 * A perl script the spawner loads once and forks from itself, in new namespaces of these kinds (the RUN
 * launcher, the overlay view holder, the isolation probe; none for the top-dir marker). Loaded, the script
 * evaluates to the sub the child runs, with `args`.
 */
export interface ForkedScript {
  script: string;
  namespaces: readonly ('mount' | 'pid' | 'ipc' | 'uts' | 'net')[];
  args?: readonly string[];
}

/** What Kiln uses of a child process, whoever started it. */
export interface ProcessHandle {
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly stdio: readonly (Writable | Readable | null | undefined)[];
  kill(signal?: NodeJS.Signals): boolean;
  ref(): void;
  unref(): void;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'exit' | 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'spawn', listener: () => void): this;
  once(event: 'spawn', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
}

const encode = (field: string): string => field.replace(/[%\s\x00-\x1f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

const signalName = (n: number): NodeJS.Signals | null =>
  (Object.entries(constants.signals).find(([, number]) => number === n)?.[0] as NodeJS.Signals | undefined) ?? null;

function errnoError(errno: number, command: string): NodeJS.ErrnoException {
  const code = Object.entries(constants.errno).find(([, number]) => number === errno)?.[0] ?? `E${errno}`;
  const err: NodeJS.ErrnoException = new Error(`spawn ${command} ${code}`);
  err.code = code;
  err.errno = -errno;
  err.syscall = `spawn ${command}`;
  return err;
}

/**
 * Whether `child` runs or is about to: a spawner's child is known to have started only once the spawner
 * said so (its pid is set then), but requests made before (stdin, kill) are served in order.
 */
export function isAlive(child: ProcessHandle): boolean {
  if (child.exitCode !== null || child.signalCode !== null) return false;
  return child instanceof SpawnedProcess ? !child.failedToStart : child.pid !== undefined;
}

/** Whether `child` and its pipes keep Kiln's event loop alive (a spawner's child or Node's own). */
export function setProcessRef(child: ProcessHandle, on: boolean): void {
  for (const handle of [child, ...child.stdio] as ({ ref?(): void; unref?(): void } | null | undefined)[]) {
    if (on) handle?.ref?.();
    else handle?.unref?.();
  }
}

/** `child`'s pid once its start is known (a spawner's child reports it); undefined when it never started. */
export function startedPid(child: ProcessHandle): Promise<number | undefined> {
  if (child.pid !== undefined || !isAlive(child)) return Promise.resolve(child.pid);
  return new Promise((resolve) => {
    child.once('spawn', () => resolve(child.pid));
    child.once('error', () => resolve(undefined));
    child.once('close', () => resolve(child.pid));
  });
}

/** A child of the spawner. */
export class SpawnedProcess extends EventEmitter implements ProcessHandle {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly stdio: (Writable | Readable | null)[];
  readonly #outs = new Map<number, Readable>();
  #exited = false;
  /** The spawner could not start it (the 'error' event said why). */
  failedToStart = false;
  #pendingKill: NodeJS.Signals | undefined;
  #referenced = true;
  readonly #onRef: () => void;

  readonly id: number;
  /** What it runs (its argv[0]), for errors. */
  readonly command: string;

  constructor(id: number, command: string, pipes: readonly PipedFd[], send: (bytes: Buffer | string) => void, onRef: () => void) {
    super();
    this.id = id;
    this.command = command;
    this.#onRef = onRef;
    const piped = new Set(pipes);
    this.stdin = piped.has(0)
      ? new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          send(Buffer.concat([Buffer.from(`in ${id} ${chunk.length}\n`), chunk]));
          done();
        },
        final: (done) => {
          send(`close ${id}\n`);
          done();
        },
      })
      : null;
    const out = (fd: PipedFd): Readable | null => {
      if (!piped.has(fd)) return null;
      const stream = new Readable({ read() {} });
      this.#outs.set(fd, stream);
      stream.once('end', () => {
        this.#outs.delete(fd);
        this.#maybeClose();
      });
      return stream;
    };
    this.stdout = out(1);
    this.stderr = out(2);
    this.stdio = [this.stdin, this.stdout, this.stderr, out(3)];
  }

  /** Whether this child keeps Kiln's event loop alive (as ChildProcess.ref/unref). */
  get referenced(): boolean {
    return this.#referenced;
  }

  ref(): void {
    this.#referenced = true;
    this.#onRef();
  }

  unref(): void {
    this.#referenced = false;
    this.#onRef();
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.#exited) return false;
    if (this.pid === undefined) {
      this.#pendingKill = signal;
      return true;
    }
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** @internal the spawner's answers about this child */
  started(pid: number): void {
    this.pid = pid;
    this.emit('spawn');
    if (this.#pendingKill !== undefined) this.kill(this.#pendingKill);
  }

  /** @internal */
  failed(err: Error): void {
    this.#exited = true;
    this.failedToStart = true;
    for (const stream of this.#outs.values()) stream.push(null);
    this.emit('error', err);
  }

  /** @internal */
  output(fd: number, data: Buffer): void {
    this.#outs.get(fd)?.push(data);
  }

  /** @internal */
  ended(fd: number): void {
    this.#outs.get(fd)?.push(null);
  }

  /** @internal */
  exited(code: number, signal: number): void {
    this.#exited = true;
    this.exitCode = signal === 0 ? code : null;
    this.signalCode = signal === 0 ? null : signalName(signal);
    this.emit('exit', this.exitCode, this.signalCode);
    this.#maybeClose();
  }

  /** @internal the spawner is gone: this child's pipes and exit will never be reported */
  lost(): void {
    for (const stream of this.#outs.values()) stream.push(null);
    if (!this.#exited) this.exited(-1, constants.signals.SIGKILL);
  }

  #maybeClose(): void {
    if (!this.#exited || this.#outs.size > 0) return;
    // Node emits 'close' on a later tick than the last 'end'; listeners added after 'exit' still see it.
    setImmediate(() => this.emit('close', this.exitCode, this.signalCode));
  }
}

/** The spawner process and its children; started on first use. */
class Spawner {
  readonly #child: ChildProcess;
  readonly #children = new Map<number, SpawnedProcess>();
  #nextId = 1;
  #buffer: Buffer = Buffer.alloc(0);
  #broken = false;

  constructor() {
    const [perl, ...perlArgs] = perlCommand() as [string, ...string[]];
    this.#child = spawn(perl, [...perlArgs, spawnerPath, process.arch, String(process.pid)],
      { stdio: ['pipe', 'pipe', 'inherit'], env: { PATH: HOST_TOOL_PATH } });
    this.#child.on('error', () => this.#lose());
    this.#child.on('close', () => this.#lose());
    this.#child.stdin!.on('error', () => this.#lose());
    this.#child.stdout!.on('data', (chunk: Buffer) => this.#read(chunk));
    this.#setRef(false);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get usable(): boolean {
    return !this.#broken;
  }

  spawn(command: string, args: readonly string[], options: SpawnOptions): SpawnedProcess {
    return this.#start('spawn', command, options, [command, ...args]);
  }

  launch(forked: ForkedScript, options: SpawnOptions): SpawnedProcess {
    return this.#start('launch', forked.script, options, [forked.script, forked.namespaces.join(','), ...(forked.args ?? [])]);
  }

  /** A `spawn` or `launch` request (spawner.pl): the child's options, then the request's own last fields. */
  #start(op: 'spawn' | 'launch', command: string, options: SpawnOptions, last: readonly string[]): SpawnedProcess {
    const id = this.#nextId++;
    const child = new SpawnedProcess(id, command, options.pipes, (bytes) => this.#send(bytes), () => this.#refresh());
    this.#children.set(id, child);
    this.#refresh();
    const gone = () => {
      this.#children.delete(id);
      this.#refresh();
    };
    child.once('close', gone);
    // A child that never started has no 'close' (as Node's): it is done with its 'error'.
    child.once('error', gone);
    const env = Object.entries(options.env).map(([key, value]) => `${key}=${value}`);
    const fields = [op, String(id), options.pipes.length > 0 ? options.pipes.join('') : '-', options.detached ? '1' : '0',
      options.cwd ?? '-', String(env.length), ...env, ...last];
    this.#send(`${fields.map(encode).join(' ')}\n`);
    return child;
  }

  #send(bytes: Buffer | string): void {
    if (this.#broken) return;
    this.#child.stdin!.write(bytes);
  }

  /** Parses the spawner's answers: lines, each `out` followed by its bytes. */
  #read(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const end = this.#buffer.indexOf(10);
      if (end < 0) return;
      const [op, idText, a, b] = this.#buffer.subarray(0, end).toString('latin1').split(' ');
      const child = this.#children.get(Number(idText));
      if (op === 'out') {
        const length = Number(b);
        if (this.#buffer.length < end + 1 + length) return;
        child?.output(Number(a), this.#buffer.subarray(end + 1, end + 1 + length));
        this.#buffer = this.#buffer.subarray(end + 1 + length);
        continue;
      }
      this.#buffer = this.#buffer.subarray(end + 1);
      if (child === undefined) continue;
      if (op === 'pid') child.started(Number(a));
      else if (op === 'fail') child.failed(errnoError(Number(a), child.command));
      else if (op === 'eof') child.ended(Number(a));
      else if (op === 'exit') child.exited(Number(a), Number(b));
    }
  }

  #lose(): void {
    if (this.#broken) return;
    this.#broken = true;
    for (const child of this.#children.values()) child.lost();
  }

  /** Kiln's event loop stays alive while a referenced child runs (the spawner itself dies with Kiln). */
  #refresh(): void {
    this.#setRef([...this.#children.values()].some((child) => child.referenced));
  }

  #setRef(ref: boolean): void {
    for (const handle of [this.#child, this.#child.stdin, this.#child.stdout] as ({ ref(): void; unref(): void } | null)[]) {
      if (handle === null) continue;
      if (ref) handle.ref();
      else handle.unref();
    }
  }
}

let shared: Spawner | undefined;

/** The spawner's pid, once started (tests). */
export function spawnerPid(): number | undefined {
  return shared?.pid;
}

/** Starts the spawner now, so that it is running by the time the first child is wanted. */
export function startSpawner(): void {
  shared ??= new Spawner();
}

/**
 * Starts `command` through the spawner (Node's spawn() once the spawner is gone), as a child of the spawner:
 * not for a process that checks its parent is Kiln. The command is looked up in `options.env.PATH`.
 */
export function spawnProcess(command: string, args: readonly string[], options: SpawnOptions): ProcessHandle {
  startSpawner();
  return spawnWithRunningSpawner(command, args, options);
}

/**
 * Through the spawner when it already runs, else Node's spawn(): for a child not worth starting the spawner
 * for (the work dir's remover, the xattr server started ahead).
 */
export function spawnWithRunningSpawner(command: string, args: readonly string[], options: SpawnOptions): ProcessHandle {
  return shared?.usable ? shared.spawn(command, args, options) : spawnDirect(command, args, options);
}

/**
 * A script forked from the spawner in new namespaces (spawner.pl `launch`: no exec of setpriv, unshare nor
 * perl, the script compiled once; ForkedScript). Where the spawner cannot run, Node's spawn() starts
 * `fallback`, the command line that makes the same process shape.
 */
export function spawnForkedScript(forked: ForkedScript, fallback: readonly [string, ...string[]], options: SpawnOptions): ProcessHandle {
  startSpawner();
  if (shared?.usable) return shared.launch(forked, options);
  const [command, ...args] = fallback;
  return spawnDirect(command, args, options);
}

/** Node's spawn() with the same options: a child of Kiln itself (for one whose parent must be Kiln). */
export function spawnDirect(command: string, args: readonly string[], options: SpawnOptions): ProcessHandle {
  const piped = (fd: PipedFd) => options.pipes.includes(fd);
  const stdio = [...([0, 1, 2] as const).map((fd) => (piped(fd) ? 'pipe' : 'ignore')), ...(piped(3) ? ['pipe' as const] : [])];
  return spawn(command, args, { env: options.env, stdio, detached: options.detached ?? false, ...(options.cwd ? { cwd: options.cwd } : {}) }) as ChildProcess as ProcessHandle;
}
