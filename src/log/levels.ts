/** Log levels and formats, named as kaniko's `--verbosity` and `--log-format` (logrus) name them. */
import { KilnError } from '../errors.ts';

export const LOG_LEVELS = ['panic', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['text', 'color', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Lower is more severe; a message is written when its rank is <= the logger's. */
export function levelRank(level: LogLevel): number {
  return LOG_LEVELS.indexOf(level);
}

/** logrus.ParseLevel: case-insensitive, "warning" is "warn". */
export function parseLogLevel(text: string, flag = '--verbosity'): LogLevel {
  const lower = text.toLowerCase();
  const level = lower === 'warning' ? 'warn' : lower;
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new KilnError('INVALID_FLAG', `invalid value "${text}" for ${flag}: expected one of ${LOG_LEVELS.join(', ')}`, {
    exitCode: 2,
  });
}

export function parseLogFormat(text: string, flag = '--log-format'): LogFormat {
  if ((LOG_FORMATS as readonly string[]).includes(text)) return text as LogFormat;
  throw new KilnError('INVALID_FLAG', `invalid value "${text}" for ${flag}: expected one of ${LOG_FORMATS.join(', ')}`, {
    exitCode: 2,
  });
}
