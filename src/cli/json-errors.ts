/**
 * `--log-format=json` makes every line Kiln writes JSON, the final error included: the command reports it
 * through its logger and main.ts, which otherwise prints errors as text, only sets the exit code.
 */
import { isKilnError } from '../errors.ts';
import { createLogger, type Logger } from '../log/logger.ts';

const reported = new WeakSet<object>();

/** Whether argv asks for JSON logs, read before the flags are parsed (a bad flag must be reported as JSON too). */
export function jsonLogsRequested(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const m = /^--?log-format(?:=(.*))?$/.exec(argv[i]);
    if (m && (m[1] ?? argv[i + 1]) === 'json') return true;
  }
  return false;
}

/** Logs `err` as the build's final JSON line and marks it reported. */
export function reportErrorAsJson(err: unknown, logger: Logger = createLogger({ format: 'json' })): void {
  if (isKilnError(err)) {
    logger.error(err.message, {
      code: err.code, hint: err.hint, file: err.location?.file, line: err.location?.line, exitCode: err.exitCode,
    });
  } else {
    logger.error(`internal error: ${(err as Error)?.message ?? String(err)}`, { code: 'INTERNAL', stack: (err as Error)?.stack, exitCode: 70 });
  }
  if (typeof err === 'object' && err !== null) reported.add(err);
}

export function wasReported(err: unknown): boolean {
  return typeof err === 'object' && err !== null && reported.has(err);
}
