/**
 * Step lines: "[stage 1/2] STEP 3/7: COPY . /app" when a step starts, and its duration when it ends.
 */
import type { Logger } from './logger.ts';
import { formatDuration, Timings } from './timings.ts';

export interface StepInfo {
  /** 1-based stage number and count of stages being built. */
  stage: number;
  stages: number;
  /** 1-based step number within the stage and count of steps. */
  step: number;
  steps: number;
  /** The instruction as written (secrets already removed by the caller). */
  text: string;
}

export interface StepHandle {
  /** Logs the completion with the step's duration; returns the duration in ms. */
  done(note?: string): number;
  /** Logs the failure with the step's duration; returns the duration in ms. */
  failed(reason: string): number;
}

export function stepLabel(info: Pick<StepInfo, 'stage' | 'stages' | 'step' | 'steps'>): string {
  return `[stage ${info.stage}/${info.stages}] STEP ${info.step}/${info.steps}`;
}

/** Steps that say nothing while they work (COPY, ADD): a line this often, so a long one is not taken for a hang. */
const QUIET_STEPS = new Set(['COPY', 'ADD']);
export const STEP_HEARTBEAT_MS = 10_000;

export function startStep(logger: Logger, info: StepInfo, timings: Timings = new Timings(), heartbeatMs = STEP_HEARTBEAT_MS): StepHandle {
  const label = stepLabel(info);
  logger.info(`${label}: ${info.text}`);
  const keyword = info.text.trimStart().split(/\s/, 1)[0].toUpperCase();
  const stop = timings.start(keyword || 'step');
  const started = Date.now();
  const heartbeat = QUIET_STEPS.has(keyword)
    ? setInterval(() => logger.info(`${label}: ${keyword} still running (${formatDuration(Date.now() - started)})`), heartbeatMs).unref()
    : undefined;
  let ended = false;
  const end = (level: 'info' | 'error', what: string): number => {
    const ms = stop();
    if (!ended) {
      ended = true;
      clearInterval(heartbeat);
      logger.log(level, `${label}: ${what} in ${formatDuration(ms)}`);
    }
    return ms;
  };
  return {
    done: (note) => end('info', note ? `done (${note})` : 'done'),
    failed: (reason) => end('error', `failed (${reason})`),
  };
}
