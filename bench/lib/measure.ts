/**
 * Runs one command for a benchmark: wall time, exit code, output in a log file, and the peak resident memory of
 * the whole process tree (polled from /proc, so children such as the RUN sandbox count too) and of the top
 * process alone (its VmHWM, read on every poll).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

export interface Measured {
  ms: number;
  exitCode: number;
  /** The command's stdout and stderr, interleaved. */
  logFile: string;
  /** Largest sum of VmRSS over the process tree seen while polling, in KiB. */
  peakTreeRssKiB: number;
  /** Last VmHWM (peak RSS) of the top process read before it exited, in KiB. */
  peakTopHwmKiB: number;
  /** Wall-clock time (epoch ms) at which the command exited. */
  endedAt: number;
}

export interface MeasureOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How often /proc is polled; 0 disables polling (then the RSS fields are 0). */
  pollMs?: number;
}

function statusField(pid: number, field: string): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0; // gone between listing and reading
  }
}

/** Parent pid of every process, from /proc/PID/stat (the field after the parenthesised command name). */
function parentMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid);
    if (list === undefined) children.set(ppid, [pid]);
    else list.push(pid);
  }
  return children;
}

/** Sum of VmRSS over `root` and all its descendants, in KiB. */
export function treeRssKiB(root: number): number {
  const children = parentMap();
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    total += statusField(pid, 'VmRSS');
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Runs `argv`, writing its output to `logFile`; resolves when it exits (never rejects on a non-zero exit). */
export function measure(argv: readonly string[], logFile: string, options: MeasureOptions = {}): Promise<Measured> {
  const pollMs = options.pollMs ?? 100;
  const fd = fs.openSync(logFile, 'w');
  const started = performance.now();
  const child = spawn(argv[0], argv.slice(1), { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  let peakTreeRssKiB = 0;
  let peakTopHwmKiB = 0;
  const poll = (): void => {
    if (child.pid === undefined) return;
    peakTreeRssKiB = Math.max(peakTreeRssKiB, treeRssKiB(child.pid));
    peakTopHwmKiB = Math.max(peakTopHwmKiB, statusField(child.pid, 'VmHWM'));
  };
  const timer = pollMs > 0 ? setInterval(poll, pollMs) : undefined;
  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      const ms = performance.now() - started;
      const endedAt = Date.now();
      clearInterval(timer);
      resolve({ ms, exitCode: code ?? (signal === null ? -1 : 128), logFile, peakTreeRssKiB, peakTopHwmKiB, endedAt });
    });
  });
}

/** Like `measure`, but throws with the log's tail when the command fails. */
export async function measureOk(argv: readonly string[], logFile: string, options: MeasureOptions = {}): Promise<Measured> {
  const result = await measure(argv, logFile, options);
  if (result.exitCode !== 0) {
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n');
    throw new Error(`${argv.join(' ')} exited ${result.exitCode}; log ${logFile}:\n${tail}`);
  }
  return result;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
