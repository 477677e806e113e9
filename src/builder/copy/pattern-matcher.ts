/**
 * moby/patternmatcher as fsutil's copier uses it for COPY --exclude and the include pattern of
 * COPY --parents: patterns are cleaned, `!` negates, `*`/`?` stay in one segment, `**` crosses segments,
 * later patterns win, and a path matches a pattern when the path or any of its parent directories does.
 * Matching walks a tree top-down, passing each directory's per-pattern results to its children
 * (MatchesUsingParentResults).
 */
import { posix } from 'node:path';
import { assertValidPattern, BadPatternError } from './go-path-match.ts';

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

export class PatternMatcher {
  readonly #patterns: CompiledPattern[];
  readonly hasExclusions: boolean;

  /** Throws BadPatternError for a malformed pattern and Error for a lone "!". */
  constructor(patterns: readonly string[]) {
    this.#patterns = [];
    let exclusions = false;
    for (const raw of patterns) {
      let text = raw.trim();
      if (text === '') continue;
      text = posix.normalize(text);
      if (text.length > 1 && text.endsWith('/')) text = text.slice(0, -1);
      let exclusion = false;
      if (text[0] === '!') {
        if (text.length === 1) throw new Error('illegal exclusion pattern: "!"');
        exclusion = true;
        exclusions = true;
        text = text.slice(1);
      }
      assertValidPattern(text);
      this.#patterns.push({ cleaned: text, exclusion, test: compilePattern(text) });
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

function escapeLiteral(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

/** Compiles a cleaned pattern as patternmatcher does: exact, prefix (`x/**`), suffix (`**\/x`) or regexp. */
function compilePattern(pattern: string): (path: string) => boolean {
  const runes = Array.from(pattern);
  let regex = '^';
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
        regex += escapeLiteral(runes[i]);
        kind = 'regexp';
      } else {
        regex += '\\\\';
      }
    } else if (ch === '[' || ch === ']') {
      regex += ch;
      kind = 'regexp';
    } else {
      regex += ch === '/' ? '/' : escapeLiteral(ch);
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
  let compiled: RegExp;
  try {
    compiled = new RegExp(`${regex}$`, 'u');
  } catch {
    throw new BadPatternError(pattern);
  }
  return (path) => compiled.test(path);
}
