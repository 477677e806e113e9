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

/** Host conditions a user fixes (a full or read-only disk), not bugs: said plainly, with the path. */
const SYSTEM_CONDITIONS: Record<string, { code: string; what: string; hint: string }> = {
  ENOSPC: { code: 'NO_SPACE', what: 'no space left on device', hint: 'free space there, or point the output (or KILN_WORK_DIR / TMPDIR for the work dir) at a larger filesystem' },
  EDQUOT: { code: 'NO_SPACE', what: 'disk quota exceeded', hint: 'free space there, or point the output (or KILN_WORK_DIR / TMPDIR for the work dir) at a larger filesystem' },
  EROFS: { code: 'READ_ONLY_FILESYSTEM', what: 'read-only file system', hint: 'write the output (or KILN_WORK_DIR / TMPDIR for the work dir) to a writable filesystem' },
};

/** A KilnError for a full or read-only filesystem found anywhere in `err`'s cause chain; else undefined. */
export function hostConditionError(err: unknown): KilnError | undefined {
  for (let e = err as (NodeJS.ErrnoException & { cause?: unknown }) | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    const condition = typeof e.code === 'string' ? SYSTEM_CONDITIONS[e.code] : undefined;
    if (condition) {
      const where = e.path ? ` while writing ${e.path}` : '';
      return new KilnError(condition.code, `${condition.what}${where}`, { hint: condition.hint, cause: err });
    }
  }
  return undefined;
}

/** Runs `write`; an errno error without a path (a failed write(2) on a stream) gets `target` as its path. */
export async function withErrnoPath<T>(target: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e.code === 'string' && e.path === undefined && !(err instanceof KilnError)) e.path = target;
    throw err;
  }
}
