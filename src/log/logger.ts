/**
 * The build log. Written to stderr (stdout stays free for data), filtered by level, rendered by format.ts,
 * and passed through a Redactor so credentials never reach it. Children share the sink, the start time and
 * the redactor, and add fields (e.g. `{stage: 1}`).
 */
import { formatEntry } from './format.ts';
import type { LogFields } from './format.ts';
import { levelRank } from './levels.ts';
import type { LogFormat, LogLevel } from './levels.ts';
import { Redactor } from './redact.ts';

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  timestamp?: boolean;
  /** Receives each rendered line (newline included). Default: process.stderr. */
  write?: (line: string) => void;
  now?: () => Date;
  redactor?: Redactor;
  fields?: LogFields;
  /** The sink is a terminal: status() may show a transient line (a progress bar) below the log. */
  statusLine?: boolean;
}

interface Shared {
  level: LogLevel;
  format: LogFormat;
  timestamp: boolean;
  write: (line: string) => void;
  now: () => Date;
  start: Date;
  redactor: Redactor;
  statusLine: boolean;
  /** The transient line on screen, if any. */
  status: string;
}

export class Logger {
  readonly #shared: Shared;
  readonly #fields: LogFields;

  constructor(options: LoggerOptions = {}, shared?: Shared) {
    const now = options.now ?? (() => new Date());
    this.#shared = shared ?? {
      level: options.level ?? 'info',
      format: options.format ?? 'color',
      timestamp: options.timestamp ?? false,
      write: options.write ?? ((line) => void process.stderr.write(line)),
      now,
      start: now(),
      redactor: options.redactor ?? new Redactor(),
      statusLine: options.statusLine ?? false,
      status: '',
    };
    this.#fields = { ...(options.fields ?? {}) };
  }

  get level(): LogLevel {
    return this.#shared.level;
  }

  /** Secrets registered here are masked in every later line of this logger and its relatives. */
  get redactor(): Redactor {
    return this.#shared.redactor;
  }

  child(fields: LogFields): Logger {
    return new Logger({ fields: { ...this.#fields, ...fields } }, this.#shared);
  }

  enabled(level: LogLevel): boolean {
    return levelRank(level) <= levelRank(this.#shared.level);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const s = this.#shared;
    const merged: LogFields = { ...this.#fields, ...(fields ?? {}) };
    for (const [k, v] of Object.entries(merged)) {
      if (typeof v === 'string') merged[k] = s.redactor.redact(v);
    }
    const line = formatEntry({ level, msg: s.redactor.redact(msg), fields: merged, time: s.now() }, {
      format: s.format,
      timestamp: s.timestamp,
      start: s.start,
    });
    if (s.status) s.write('\r\x1b[K');
    s.write(line + '\n');
    if (s.status) s.write(s.status);
  }

  /** Whether status() shows anything (a terminal sink). */
  get hasStatusLine(): boolean {
    return this.#shared.statusLine;
  }

  /** Shows `text` as the transient line below the log ('' removes it); log lines keep it at the bottom. */
  status(text: string): void {
    const s = this.#shared;
    if (!s.statusLine || text === s.status) return;
    const shown = s.redactor.redact(text);
    s.write(`\r\x1b[K${shown}`);
    s.status = shown;
  }

  panic(msg: string, fields?: LogFields): void {
    this.log('panic', msg, fields);
  }
  fatal(msg: string, fields?: LogFields): void {
    this.log('fatal', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  trace(msg: string, fields?: LogFields): void {
    this.log('trace', msg, fields);
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return new Logger(options);
}

/** A logger that writes nothing, for library callers and tests that do not care. */
export function silentLogger(): Logger {
  return new Logger({ level: 'panic', write: () => {} });
}
