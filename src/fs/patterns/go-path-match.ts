/**
 * Go's `path/filepath.Match` (unix flavour), which BuildKit uses to expand COPY/ADD source wildcards one
 * walked path at a time: `*` and `?` never match `/`, `[...]` classes with `^` negation and ranges, `\`
 * escapes the next character. A malformed pattern is an error, as in Go, even when no name is tested.
 * Works on code points, which gives Go's byte-wise results for valid UTF-8.
 */

export class BadPatternError extends Error {
  constructor(pattern: string) {
    super(`syntax error in pattern: ${pattern}`);
    this.name = 'BadPatternError';
  }
}

/** Whether a path segment holds an unescaped wildcard character (fsutil's containsWildcards). */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/** Reports whether `name` matches the shell pattern; throws BadPatternError for a malformed pattern. */
export function goPathMatch(pattern: string, name: string): boolean {
  const result = matchRunes(Array.from(pattern), Array.from(name));
  if (result === 'bad') throw new BadPatternError(pattern);
  return result;
}

/** Throws BadPatternError when the pattern is malformed (Go checks by matching against "."). */
export function assertValidPattern(pattern: string): void {
  goPathMatch(pattern, '.');
}

type MatchResult = boolean | 'bad';

function matchRunes(pattern: string[], name: string[]): MatchResult {
  let pat = pattern;
  let rest = name;
  outer: while (pat.length > 0) {
    const { star, chunk, remaining } = scanChunk(pat);
    pat = remaining;
    if (star && chunk.length === 0) return !rest.includes('/');
    const first = matchChunk(chunk, rest);
    if (first === 'bad') return 'bad';
    if (first !== false && (first.length === 0 || pat.length > 0)) {
      rest = first;
      continue;
    }
    if (star) {
      for (let i = 0; i < rest.length && rest[i] !== '/'; i++) {
        const skipped = matchChunk(chunk, rest.slice(i + 1));
        if (skipped === 'bad') return 'bad';
        if (skipped !== false) {
          if (pat.length === 0 && skipped.length > 0) continue;
          rest = skipped;
          continue outer;
        }
      }
    }
    // A failed match still reports a malformed remainder of the pattern, as Go does.
    while (pat.length > 0) {
      const next = scanChunk(pat);
      pat = next.remaining;
      if (matchChunk(next.chunk, []) === 'bad') return 'bad';
    }
    return false;
  }
  return rest.length === 0;
}

function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; remaining: string[] } {
  let start = 0;
  while (start < pattern.length && pattern[start] === '*') start++;
  let inRange = false;
  let i = start;
  for (; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      if (i + 1 < pattern.length) i++;
    } else if (ch === '[') inRange = true;
    else if (ch === ']') inRange = false;
    else if (ch === '*' && !inRange) break;
  }
  return { star: start > 0, chunk: pattern.slice(start, i), remaining: pattern.slice(i) };
}

/** Matches one chunk at the start of `s`: the rest of `s`, false on no match, 'bad' on a malformed chunk. */
function matchChunk(chunkIn: string[], sIn: string[]): string[] | false | 'bad' {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const head = chunk[0];
    if (head === '[') {
      let r = -1;
      if (!failed) {
        r = s[0].codePointAt(0) as number;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === '^') {
        negated = true;
        chunk = chunk.slice(1);
      }
      let matched = false;
      let ranges = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === ']' && ranges > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEscaped(chunk);
        if (lo === 'bad') return 'bad';
        chunk = lo.rest;
        let hi = lo.rune;
        if (chunk[0] === '-') {
          const upper = getEscaped(chunk.slice(1));
          if (upper === 'bad') return 'bad';
          chunk = upper.rest;
          hi = upper.rune;
        }
        if (lo.rune <= r && r <= hi) matched = true;
        ranges++;
      }
      if (matched === negated) failed = true;
    } else if (head === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      let literal = head;
      if (head === '\\') {
        chunk = chunk.slice(1);
        if (chunk.length === 0) return 'bad';
        literal = chunk[0];
      }
      if (!failed) {
        if (literal !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? false : s;
}

function getEscaped(chunk: string[]): { rune: number; rest: string[] } | 'bad' {
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') return 'bad';
  let at = 0;
  if (chunk[0] === '\\') {
    at = 1;
    if (chunk.length === 1) return 'bad';
  }
  const rest = chunk.slice(at + 1);
  if (rest.length === 0) return 'bad';
  return { rune: chunk[at].codePointAt(0) as number, rest };
}
