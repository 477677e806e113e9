/** Errors a user can cause carry a code, a one-line message, an optional Dockerfile location and a hint. */

export interface SourceLocation {
  /** Path of the file as the user named it (e.g. "Dockerfile"). */
  file: string;
  /** 1-based line number. */
  line: number;
  /** The original text of the line (or instruction), quoted in the message. */
  text?: string;
}

export interface KilnErrorOptions {
  hint?: string;
  location?: SourceLocation;
  cause?: unknown;
  /** Process exit code when this error ends the program. Default 1. */
  exitCode?: number;
}

export class KilnError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly location: SourceLocation | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, options: KilnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KilnError';
    this.code = code;
    this.hint = options.hint;
    this.location = options.location;
    this.exitCode = options.exitCode ?? 1;
  }

  /** The text shown to the user: "Dockerfile:3: message", the quoted line, then the hint. */
  describe(): string {
    const where = this.location ? `${this.location.file}:${this.location.line}: ` : '';
    const lines = [`error: ${where}${this.message}`];
    if (this.location?.text !== undefined) lines.push(`  ${this.location.line} | ${this.location.text}`);
    if (this.hint) lines.push(`hint: ${this.hint}`);
    return lines.join('\n');
  }
}

export function isKilnError(err: unknown): err is KilnError {
  return err instanceof KilnError;
}
