/**
 * Progress of blob transfers (pulls and pushes): one line per blob when it completes, with its size and time;
 * while blobs are in flight, a bar rewritten in place on a terminal, else a plain line per blob every
 * `intervalMs` (CI logs keep every line, so they get few). JSON logs get JSON lines like everything else.
 */
import type { Logger } from './logger.ts';
import { formatDuration } from './timings.ts';

export type TransferKind = 'pull' | 'push';

export interface TransferTracker {
  /** Bytes moved since the last call. */
  advance(bytes: number): void;
  /** The transfer finished (logs its line). */
  done(): void;
  /** The transfer stopped early (a retry starts a new one). */
  abandon(): void;
}

export interface TransferProgress {
  start(kind: TransferKind, digest: string, size: number, where: string): TransferTracker;
}

export interface TransferProgressOptions {
  /** Plain progress lines per in-flight blob, this often (ms), when the logger has no status line. */
  intervalMs?: number;
  now?: () => number;
}

/** Blobs smaller than this only get their completion line. */
const SMALL_BLOB = 1 << 20;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

interface Transfer {
  kind: TransferKind;
  digest: string;
  size: number;
  where: string;
  moved: number;
  started: number;
}

const VERB: Record<TransferKind, [string, string]> = { pull: ['pulling', 'pulled'], push: ['pushing', 'pushed'] };

function amount(t: Transfer): string {
  return t.size > 0 ? `${formatBytes(t.moved)} of ${formatBytes(t.size)} (${Math.floor((100 * t.moved) / t.size)}%)` : formatBytes(t.moved);
}

export function createTransferProgress(logger: Logger, options: TransferProgressOptions = {}): TransferProgress {
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 10_000;
  const tty = logger.hasStatusLine;
  const active = new Set<Transfer>();
  let timer: NodeJS.Timeout | undefined;
  let lastBar = 0;

  const drawBar = (force = false): void => {
    if (active.size === 0) {
      logger.status('');
      return;
    }
    if (!force && now() - lastBar < 100) return;
    lastBar = now();
    let moved = 0;
    let size = 0;
    for (const t of active) {
      moved += t.moved;
      size += Math.max(t.size, t.moved);
    }
    const width = 30;
    const filled = size > 0 ? Math.min(width, Math.round((width * moved) / size)) : 0;
    const kinds = new Set([...active].map((t) => VERB[t.kind][0]));
    logger.status(`${[...kinds].join('/')} ${active.size} blob${active.size > 1 ? 's' : ''} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${formatBytes(moved)} / ${formatBytes(size)}`);
  };
  const tick = (): void => {
    for (const t of active) {
      if (t.size >= SMALL_BLOB || t.size < 0) logger.info(`${VERB[t.kind][0]} blob ${shortDigest(t.digest)} (${t.where}): ${amount(t)}`);
    }
  };
  const stopTimerIfIdle = (): void => {
    if (active.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  return {
    start(kind, digest, size, where) {
      const t: Transfer = { kind, digest, size, where, moved: 0, started: now() };
      active.add(t);
      if (!tty && !timer) {
        timer = setInterval(tick, intervalMs);
        timer.unref();
      }
      let finished = false;
      const finish = (): boolean => {
        if (finished) return false;
        finished = true;
        active.delete(t);
        stopTimerIfIdle();
        return true;
      };
      return {
        advance(bytes) {
          t.moved += bytes;
          if (tty) drawBar();
        },
        done() {
          if (!finish()) return;
          // The bar first (without this blob), so the line below does not bring back a stale one.
          if (tty) drawBar(true);
          const ms = now() - t.started;
          const rate = ms > 0 ? `, ${formatBytes(Math.round((t.moved * 1000) / ms))}/s` : '';
          logger.info(`${VERB[kind][1]} blob ${shortDigest(digest)} (${where}): ${formatBytes(t.moved)} in ${formatDuration(ms)}${rate}`);
        },
        abandon() {
          if (finish() && tty) drawBar(true);
        },
      };
    },
  };
}
