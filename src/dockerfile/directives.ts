/**
 * Parser directives (`# syntax=…`, `# escape=…`, `# check=…`) and the escape token they set, as BuildKit's
 * DirectiveParser: directives are only recognised on the leading comment lines; the first line that is not a
 * directive (a blank line, any other comment, an instruction) ends the search for good.
 */
import { goTrimLeftSpace } from './parser/go-text.ts';

const validDirectives = new Set(['syntax', 'escape', 'check']);
// Go's `\s` is [\t\n\f\r ] and its `.` is anything but \n: spelled out because JavaScript's differ.
const directivePattern = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*([^\n]+?)[\t\n\f\r ]*$/;

export interface FoundDirective {
  name: string;
  value: string;
}

/** The directive state of one parse: mutable, but owned by a single parseDockerfile call. */
export class DirectiveState {
  escapeToken = '\\';
  /** Matches a line-continuation escape at the end of a line (see continuationPattern). */
  continuation: RegExp = continuationPattern('\\');
  private done = false;
  private readonly seen = new Set<string>();

  /**
   * Looks at one line (newline and, for a first line, leading whitespace already removed). Returns the
   * directive it holds, or undefined. Throws a plain Error (the caller adds the location) for a repeated
   * directive or a bad escape token.
   */
  possibleDirective(line: string): FoundDirective | undefined {
    if (this.done) return undefined;
    if (!line.startsWith('#')) {
      this.done = true;
      return undefined;
    }
    const match = directivePattern.exec(goTrimLeftSpace(line.slice(1)));
    const name = match?.[1].toLowerCase();
    if (!match || !name || !validDirectives.has(name)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name)) throw new Error(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    const value = match[2];
    if (name === 'escape') this.setEscapeToken(value);
    return { name, value };
  }

  setEscapeToken(token: string): void {
    if (token !== '`' && token !== '\\') {
      throw new Error(`invalid escape token '${token}' does not match \` or \\`);
    }
    this.escapeToken = token;
    this.continuation = continuationPattern(token);
  }
}

/**
 * BuildKit's continuation regex: the escape token as the last non-blank character, unless it is itself
 * escaped (`foo \\` is not a continuation), or alone on its line. Replacing the match by `$1` drops it.
 */
function continuationPattern(token: string): RegExp {
  const t = '\\' + token;
  return new RegExp(`([^${t}])${t}[ \\t]*$|^${t}[ \\t]*$`);
}
