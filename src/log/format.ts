/**
 * Renders one log entry as kaniko (logrus) does: `color` is `INFO[0003] message key=value` with a coloured
 * level, `text` is logfmt (`level=info msg="message" key=value`), `json` is one object per line.
 * `--log-timestamp` replaces the seconds-since-start counter with the full time.
 */
import type { LogFormat, LogLevel } from './levels.ts';

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface LogEntry {
  level: LogLevel;
  msg: string;
  fields: LogFields;
  time: Date;
}

export interface FormatOptions {
  format: LogFormat;
  timestamp: boolean;
  /** Time the program started, for the `[0003]` counter. */
  start: Date;
}

const COLORS: Record<LogLevel, number> = {
  panic: 31, fatal: 31, error: 31, warn: 33, info: 36, debug: 37, trace: 37,
};

/** logrus quotes any value with a character outside [A-Za-z0-9-._/@^+]. */
function logfmtValue(v: string): string {
  return /^[A-Za-z0-9\-._/@^+]+$/.test(v) ? v : JSON.stringify(v);
}

function fieldPairs(fields: LogFields): Array<[string, string]> {
  return Object.keys(fields)
    .sort()
    .filter((k) => fields[k] !== undefined)
    .map((k) => [k, String(fields[k])]);
}

export function formatEntry(entry: LogEntry, opts: FormatOptions): string {
  switch (opts.format) {
    case 'json': {
      const obj: Record<string, unknown> = { level: entry.level, msg: entry.msg, time: entry.time.toISOString() };
      for (const [k, v] of Object.entries(entry.fields)) {
        if (v !== undefined && !(k in obj)) obj[k] = v;
      }
      return JSON.stringify(obj);
    }
    case 'text': {
      const parts: string[] = [];
      if (opts.timestamp) parts.push(`time=${logfmtValue(entry.time.toISOString())}`);
      parts.push(`level=${entry.level}`, `msg=${logfmtValue(entry.msg)}`);
      for (const [k, v] of fieldPairs(entry.fields)) parts.push(`${k}=${logfmtValue(v)}`);
      return parts.join(' ');
    }
    case 'color': {
      const tag = entry.level.toUpperCase().slice(0, 4);
      const when = opts.timestamp
        ? entry.time.toISOString()
        : String(Math.max(0, Math.floor((entry.time.getTime() - opts.start.getTime()) / 1000))).padStart(4, '0');
      let line = `\x1b[${COLORS[entry.level]}m${tag}\x1b[0m[${when}] ${entry.msg}`;
      for (const [k, v] of fieldPairs(entry.fields)) line += ` \x1b[${COLORS[entry.level]}m${k}\x1b[0m=${logfmtValue(v)}`;
      return line;
    }
  }
}
