/**
 * Starting the launcher for one step and ending it: the whole process tree goes when the step ends or is
 * aborted. Namespace mode: the launcher is pid 1 of the step's pid namespace, so killing it kills every
 * process of the step and drops every mount. Other modes: the launcher is a subreaper that kills all its
 * descendants before it exits (and on SIGTERM, which Kiln's death also sends).
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { HOST_TOOL_PATH, perlCommand } from '../bundled-tools.ts';
import { KilnError } from '../errors.ts';
import { prepareSpares, takeSpare } from './spare-launcher.ts';
import { isAlive, spawnDirect, spawnForkedScript, spawnProcess, type ForkedScript, type ProcessHandle } from '../spawner.ts';
import { isNamespaced, type ResolvedIsolation, type RunSpec } from './types.ts';

export const launcherPath = fileURLToPath(new URL('./launcher.pl', import.meta.url));
/** The first stage of a userns step: makes the user namespace, then execs the rest of the command in it. */
export const usernsEntryPath = fileURLToPath(new URL('./userns-entry.pl', import.meta.url));

/** How long a chroot/none launcher gets to kill its descendants after SIGTERM before its group is killed. */
const termGraceMs = 3000;

export interface LaunchOptions {
  isolation: ResolvedIsolation;
  planPath: string;
  network: RunSpec['network'];
  stdout: RunSpec['stdout'];
  stderr: RunSpec['stderr'];
  signal: AbortSignal | undefined;
  /** Written to the launcher's stdin (secret values), then closed. */
  input: Buffer;
  /** RUN steps of the build still to come after this one: spares of this kind are started for (up to two of) them. */
  stepsAfter?: number;
}

export interface StepExit {
  /** Exit code of the launcher (the step's, or 128 + signal). */
  exitCode: number;
  /** The launcher's status channel, whole. */
  status: Buffer;
  aborted: boolean;
}

/** The namespaces a namespace-mode launcher gets (launchCommand's unshare, or the spawner's fork). */
function stepNamespaces(network: RunSpec['network']): ForkedScript['namespaces'] {
  return ['mount', 'pid', 'ipc', 'uts', ...(network === 'none' ? ['net' as const] : [])];
}

/** argv that starts the launcher for `isolation`; it reads its plan's path from stdin (so it can start early). */
export function launchCommand(isolation: ResolvedIsolation, network: RunSpec['network']): string[] {
  // In place (kaniko's model) the base image replaces /usr: perl then lives in a kept directory.
  const perl = perlCommand();
  const launcher = [...perl, launcherPath];
  if (!isNamespaced(isolation)) return launcher;
  // setpriv's death signal reaches unshare (exec keeps it); unshare's --kill-child then reaches pid 1, whose
  // death ends the namespace: a SIGKILLed Kiln leaves no step behind.
  const unshare = ['unshare', ...stepNamespaces(network).map((kind) => `--${kind}`), '--fork', '--kill-child', '--', ...launcher];
  // userns: userns-entry.pl makes the user namespace, then execs the same unshare inside it.
  const userns = isolation === 'userns' ? userNamespaceEntry(perl) : [];
  return ['setpriv', '--pdeathsig', 'KILL', '--', ...userns, ...unshare];
}

/** argv prefix that runs what follows it in a new user namespace mapping this process's ids 1:1. */
export function userNamespaceEntry(perl: string[] = perlCommand()): string[] {
  return [...perl, usernsEntryPath, process.arch, '--'];
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal === null ? 0 : constants.signals[signal] ?? 0);
}

/** Host pids of the direct children of `pid` (the unshare'd pid 1 is unshare's only child). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter((p) => p !== '').map(Number);
  } catch {
    return [];
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(pid, signal); } catch { /* already gone */ }
}

function pipeOut(from: Readable | null, to: RunSpec['stdout']): void {
  if (from === null) return;
  if (to === undefined) {
    from.resume();
    return;
  }
  // A destination that fails (Kiln's stdout closed by its reader: EPIPE) is unpiped, which pauses the step's
  // output: drop the rest instead, so that the pipe still reaches its end (the step's 'close' waits for it).
  // The destination says so ('unpipe'), also when the output ends as usual; the listener goes then.
  const onUnpipe = (source: Readable): void => {
    if (source !== from) return;
    to.removeListener('unpipe', onUnpipe);
    from.resume();
  };
  to.on('unpipe', onUnpipe);
  from.pipe(to, { end: false });
}

/** Spawns a launcher, which reads its plan's path from stdin: for a step now, or as a spare. */
function spawnLauncher(isolation: ResolvedIsolation, network: RunSpec['network']): ProcessHandle {
  const [command, ...args] = launchCommand(isolation, network) as [string, ...string[]];
  // Namespaced launchers through the spawner: a fork of Kiln itself blocks its main thread ~10 ms per step
  // (spawner.ts). In namespace mode the spawner forks the launcher from itself (~25 ms less CPU per step than
  // exec'ing setpriv, unshare and perl). A chroot or none launcher watches its parent, Kiln (launcher.pl
  // guard_parent): Kiln's child.
  const options = { detached: true, env: { PATH: HOST_TOOL_PATH }, pipes: [0, 1, 2, 3] } as const;
  const child = isolation === 'namespace'
    ? spawnForkedScript({ script: launcherPath, namespaces: stepNamespaces(network) }, [command, ...args], options)
    : isNamespaced(isolation) ? spawnProcess(command, args, options) : spawnDirect(command, args, options);
  // The launcher reads its stdin to the end before anything else; a launcher that died early closes it.
  child.stdin?.on('error', () => {});
  return child;
}

/** Starts the launchers of the next `steps` steps of this kind now (at most two; spare-launcher.ts). */
export function prepareLauncher(isolation: ResolvedIsolation, network: RunSpec['network'], steps = 1): void {
  prepareSpares(isolation, network, steps, spawnLauncher);
}

/** The `plan` record launcher.pl writes first once it has read its plan. */
const PLAN_READ = Buffer.from('plan\u00000\u0000');

/**
 * Run the launcher to its end (or abort); resolves once every process of the step is gone. A spare that died
 * before it read the plan (killed while it waited) never started the step: a fresh launcher runs it.
 */
export async function runLauncher(options: LaunchOptions): Promise<StepExit> {
  const spare = takeSpare(options.isolation, options.network);
  let exit = await runOn(spare ?? spawnLauncher(options.isolation, options.network), options);
  if (spare !== undefined && !exit.aborted && !exit.status.subarray(0, PLAN_READ.length).equals(PLAN_READ)) {
    exit = await runOn(spawnLauncher(options.isolation, options.network), options);
  }
  // The launcher of the step after next starts (on the other core) while this one's snapshot and layer are
  // made, so it has the whole next step to get ready; started while this step runs, it slowed the step more
  // than it saved.
  if (options.stepsAfter && !exit.aborted) prepareLauncher(options.isolation, options.network, options.stepsAfter);
  return exit;
}

/** A launcher that could not start at all: a tool RUN needs is missing, or a file of Kiln's own. */
export function launchError(err: Error): KilnError {
  return new KilnError('RUN_LAUNCH', `cannot start the RUN step's launcher: ${err.message}`, {
    hint: 'Kiln runs RUN steps with util-linux (setpriv, unshare) and perl, and its own src/sandbox/launcher.pl: install what is missing, or reinstall Kiln',
  });
}

function runOn(child: ProcessHandle, options: LaunchOptions): Promise<StepExit> {
  return new Promise((resolve, reject) => {
    child.stdin?.end(Buffer.concat([Buffer.from(`${options.planPath}\n`), options.input]));
    const status: Buffer[] = [];
    (child.stdio[3] as Readable).on('data', (chunk: Buffer) => status.push(chunk));
    pipeOut(child.stdout, options.stdout);
    pipeOut(child.stderr, options.stderr);

    let aborted = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const abort = () => {
      if (aborted) return;
      if (child.pid === undefined) {
        // A spawner's child whose start is not reported yet: abort once it is (no pid: it never started).
        if (isAlive(child)) child.once('spawn', abort);
        return;
      }
      aborted = true;
      if (isNamespaced(options.isolation)) {
        // Killing pid 1 directly means unshare exits only once the namespace is empty. Pid 1 runs as root
        // (the launcher, or a root step exec'd from it), so Kiln may signal it without CAP_KILL.
        const inits = childPids(child.pid);
        for (const pid of inits.length > 0 ? inits : [child.pid]) killQuietly(pid, 'SIGKILL');
      } else {
        killQuietly(child.pid, 'SIGTERM');
        graceTimer = setTimeout(() => killQuietly(-(child.pid as number), 'SIGKILL'), termGraceMs);
        graceTimer.unref();
      }
    };
    options.signal?.addEventListener('abort', abort, { once: true });

    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      options.signal?.removeEventListener('abort', abort);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      // Anything still in the launcher's group (it never should be) goes too.
      if (child.pid !== undefined) killQuietly(-child.pid, 'SIGKILL');
      resolve({ exitCode: exitCodeOf(code, signal), status: Buffer.concat(status), aborted });
    };
    child.on('error', (err) => {
      options.signal?.removeEventListener('abort', abort);
      reject(launchError(err));
    });
    // A spare that is already gone: its 'close' came before this step took it.
    if (child.exitCode !== null || child.signalCode !== null) finish(child.exitCode, child.signalCode);
    else child.on('close', finish);
    if (options.signal?.aborted) abort();
  });
}
