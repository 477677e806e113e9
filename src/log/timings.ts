/**
 * Step and category durations (kaniko's pkg/timing): totals per category for a benchmark file, and a
 * stopwatch per step for the "done in" lines.
 */

export type Clock = () => number;

export const monotonicMs: Clock = () => performance.now();

export class Timings {
  readonly #totals = new Map<string, number>();
  readonly #clock: Clock;

  constructor(clock: Clock = monotonicMs) {
    this.#clock = clock;
  }

  /** Starts timing `category`; the returned function stops it, adds to the total and returns the elapsed ms. */
  start(category: string): () => number {
    const t0 = this.#clock();
    let stopped = false;
    return () => {
      const elapsed = this.#clock() - t0;
      if (!stopped) {
        stopped = true;
        this.#totals.set(category, (this.#totals.get(category) ?? 0) + elapsed);
      }
      return elapsed;
    };
  }

  total(category: string): number {
    return this.#totals.get(category) ?? 0;
  }

  /** Category → total milliseconds, sorted by category for stable output. */
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.#totals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

/** "0.12s", "3.4s", "1m05s": short human durations for step lines. */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)}s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const total = Math.round(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}m${String(s).padStart(2, '0')}s`;
}
