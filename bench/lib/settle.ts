/**
 * Waits until the machine is quiet before the next timed build, so that no builder pays for the previous one's
 * leftovers: its dirty pages (written back by the kernel while the next build runs), its deletes (a discard per
 * freed extent on a `discard`-mounted disk), a daemon's clean-up after a prune. `sync` first, then windows of
 * 200 ms until one has less than a tenth of one CPU busy and no disk request in flight, at most `maxMs`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

interface CpuSample {
  busy: number;
  total: number;
}

/** Jiffies of all CPUs from /proc/stat's first line; idle and iowait count as not busy. */
function cpuSample(): CpuSample {
  const fields = fs.readFileSync('/proc/stat', 'latin1').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = fields[3] + fields[4];
  return { busy: total - idle, total };
}

/** Requests in flight on every whole disk (/proc/diskstats' ninth statistic), partitions and zram left out. */
function diskRequestsInFlight(): number {
  let inFlight = 0;
  for (const line of fs.readFileSync('/proc/diskstats', 'latin1').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 12 || /^(loop|ram|zram)/.test(f[2]) || !fs.existsSync(`/sys/block/${f[2]}`)) continue;
    inFlight += Number(f[11]);
  }
  return inFlight;
}

/** Resolves with the milliseconds waited. */
export async function settle(maxMs = 5000, windowMs = 200): Promise<number> {
  const started = performance.now();
  spawnSync('sync');
  const cpus = Math.max(1, os.cpus().length);
  for (;;) {
    const before = cpuSample();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = cpuSample();
    const busyCpus = ((after.busy - before.busy) / Math.max(1, after.total - before.total)) * cpus;
    const waited = performance.now() - started;
    if ((busyCpus < 0.1 && diskRequestsInFlight() === 0) || waited >= maxMs) return waited;
  }
}
