/**
 * moby/patternmatcher, which BuildKit uses for `.dockerignore` and, through fsutil's copier, for
 * COPY --exclude and the include pattern of COPY --parents: patterns are cleaned, `!` negates, `*`/`?` stay in one segment, `**` crosses segments,
 * later patterns win, and a path matches a pattern when the path or any of its parent directories does.
 * Matching walks a tree top-down, passing each directory's per-pattern results to its children
 * (MatchesUsingParentResults).
 */
import { posix } from 'node:path';
import { assertValidPattern, BadPatternError } from './go-path-match.ts';
import { compileLinearRegexp, RegexpSyntaxError } from './linear-regexp.ts';

interface CompiledPattern {
  cleaned: string;
  exclusion: boolean;
  test: (path: string) => boolean;
}

/** Per-pattern results of a directory, handed to its children. Empty = unknown (check parents lexically). */
export type ParentMatches = readonly boolean[];

export interface MatchOutcome {
  matched: boolean;
  parents: ParentMatches;
}

/** A pattern the matcher cannot use: which one (its index in the list) and why. */
export class InvalidPatternError extends Error {
  readonly index: number;
  readonly pattern: string;
  readonly reason: string;

  constructor(index: number, pattern: string, reason: string) {
    super(`${reason}: ${JSON.stringify(pattern)}`);
    this.name = 'InvalidPatternError';
    this.index = index;
    this.pattern = pattern;
    this.reason = reason;
  }
}

export class PatternMatcher {
  readonly #patterns: CompiledPattern[];
  readonly hasExclusions: boolean;

  /** Throws InvalidPatternError for a malformed pattern or a lone "!". */
  constructor(patterns: readonly string[]) {
    this.#patterns = [];
    let exclusions = false;
    for (const [index, raw] of patterns.entries()) {
      let text = raw.trim();
      if (text === '') continue;
      text = posix.normalize(text);
      if (text.length > 1 && text.endsWith('/')) text = text.slice(0, -1);
      let exclusion = false;
      if (text[0] === '!') {
        if (text.length === 1) throw new InvalidPatternError(index, raw, 'illegal exclusion pattern');
        exclusion = true;
        exclusions = true;
        text = text.slice(1);
      }
      try {
        assertValidPattern(text);
        this.#patterns.push({ cleaned: text, exclusion, test: compilePattern(text) });
      } catch (err) {
        if (err instanceof BadPatternError) throw new InvalidPatternError(index, raw, 'syntax error in pattern');
        throw err;
      }
    }
    this.hasExclusions = exclusions;
  }

  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /** Whether slash-separated `path` matches, given the results of its parent directory (or none). */
  match(path: string, parent: ParentMatches): MatchOutcome {
    const known = parent.length === this.#patterns.length && parent.length > 0;
    const results: boolean[] = [];
    let matched = false;
    this.#patterns.forEach((pattern, i) => {
      let hit = known ? parent[i] : false;
      if (!hit) {
        if (pattern.exclusion !== matched) {
          results.push(false);
          return;
        }
        hit = pattern.test(path);
        if (!hit && !known) hit = parentDirsMatch(pattern, path);
      }
      results.push(hit);
      if (hit) matched = !pattern.exclusion;
    });
    return { matched, parents: results };
  }
}

function parentDirsMatch(pattern: CompiledPattern, path: string): boolean {
  const parentPath = posix.dirname(path);
  if (parentPath === '.') return false;
  const dirs = parentPath.split('/');
  for (let i = 0; i < dirs.length; i++) {
    if (pattern.test(dirs.slice(0, i + 1).join('/'))) return true;
  }
  return false;
}

const REGEX_ESCAPED = new Set(['.', '+', '(', ')', '|', '{', '}', '$', '^']);

/**
 * Compiles a cleaned pattern as patternmatcher does: exact, prefix (`x/**`), suffix (`**\/x`) or a Go
 * regexp (the same text moby generates), matched in linear time.
 */
function compilePattern(pattern: string): (path: string) => boolean {
  const runes = Array.from(pattern);
  let regex = '';
  let kind: 'exact' | 'prefix' | 'suffix' | 'regexp' = 'exact';
  for (let i = 0; i < runes.length; i++) {
    const ch = runes[i];
    if (ch === '*') {
      if (runes[i + 1] === '*') {
        const startsPattern = i === 0;
        i++;
        if (runes[i + 1] === '/') i++;
        if (i + 1 >= runes.length) {
          if (kind === 'exact') kind = 'prefix';
          else {
            regex += '.*';
            kind = 'regexp';
          }
        } else {
          regex += '(.*/)?';
          kind = 'regexp';
        }
        if (startsPattern) kind = 'suffix';
      } else {
        regex += '[^/]*';
        kind = 'regexp';
      }
    } else if (ch === '?') {
      regex += '[^/]';
      kind = 'regexp';
    } else if (REGEX_ESCAPED.has(ch)) {
      regex += `\\${ch}`;
    } else if (ch === '\\') {
      if (i + 1 < runes.length) {
        i++;
        regex += `\\${runes[i]}`;
        kind = 'regexp';
      } else {
        regex += '\\\\';
      }
    } else if (ch === '[' || ch === ']') {
      regex += ch;
      kind = 'regexp';
    } else {
      regex += ch;
    }
  }
  if (kind === 'exact') return (path) => path === pattern;
  if (kind === 'prefix') {
    const prefix = pattern.slice(0, -2);
    return (path) => path.startsWith(prefix);
  }
  if (kind === 'suffix') {
    const suffix = pattern.slice(2);
    return (path) => path.endsWith(suffix) || (suffix[0] === '/' && path === suffix.slice(1));
  }
  try {
    // `**/**/` generates `(.*/)?(.*/)?`, which matches what one `(.*/)?` does; hundreds of them would only
    // multiply the matcher's states. (A `(` of the pattern is always escaped, so this is always a group.)
    return compileLinearRegexp(regex.replace(/(?:\(\.\*\/\)\?){2,}/g, '(.*/)?'));
  } catch (err) {
    if (err instanceof RegexpSyntaxError) throw new BadPatternError(pattern);
    throw err;
  }
}
