/**
 * Shell patterns of `${V#p}`, `${V%p}` and `${V/p/r}` as BuildKit reads them: `*` and `?` are
 * wildcards, `\*`, `\?`, `\\` are literal, `\}` and `\/` are the escaped delimiters; bracket
 * expressions are NOT supported (a `[` is a literal character), and any other escape is an error.
 * Matching follows Go's regexp: `.` never matches a newline, leftmost-first, rune-based.
 */
import { LexFailure } from './errors.ts';

const ANY_RUNE = '[^\\n]';
const REGEX_SPECIALS = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$']);

/** Converts a shell pattern to a RegExp; throws LexFailure with BuildKit's message when invalid. */
export function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const runes = Array.from(pattern);
  // Go scans the pattern with text/scanner, which drops a leading byte order mark.
  if (runes[0] === '\uFEFF') runes.shift();
  let out = anchored ? '^' : '';
  const star = greedy ? `${ANY_RUNE}*` : `${ANY_RUNE}*?`;
  for (let i = 0; i < runes.length; i++) {
    const tok = runes[i];
    if (tok === '*') {
      out += star;
    } else if (tok === '?') {
      out += ANY_RUNE;
    } else if (tok === '\\') {
      const following = runes[i + 1];
      // The backslash only kept `}` or `/` from ending the ${} part; it is not part of the pattern.
      if (following === '}' || following === '/') continue;
      i++;
      if (following !== '*' && following !== '?' && following !== '\\') {
        throw invalidPattern(pattern, `invalid escape '\\${following ?? '\uFFFD'}'`);
      }
      out += `\\${following}`;
    } else if (REGEX_SPECIALS.has(tok)) {
      out += `\\${tok}`;
    } else {
      out += tok;
    }
  }
  try {
    return new RegExp(out, 'gu');
  } catch (err) {
    throw invalidPattern(pattern, (err as Error).message);
  }
}

function invalidPattern(pattern: string, why: string): LexFailure {
  return new LexFailure(`invalid pattern (${pattern}) in substitution: ${why}`);
}

/** `${V#p}` (shortest) / `${V##p}` (longest): removes the matching prefix of value. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const re = shellPatternToRegExp(pattern, greedy, true);
  const m = execAt(re, value, 0);
  return m === null ? value : value.slice(m.index + m[0].length);
}

/**
 * `${V%p}` / `${V%%p}`: a regex finds leftmost matches only, so the shortest rightmost match is
 * found as a prefix match of the reversed pattern against the reversed value.
 */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseRunes(trimPrefix(reversePattern(pattern), reverseRunes(value), greedy));
}

/** Reverses a pattern while keeping each `\x` escape pair in order (`a\*c` → `c\*a`). */
export function reversePattern(pattern: string): string {
  const runes = Array.from(pattern);
  const out = new Array<string>(runes.length);
  const last = runes.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = runes[i];
    const outIdx = last - i;
    if (tok === '\\' && i !== last) {
      out[outIdx - 1] = tok;
      out[outIdx] = runes[i + 1];
      i += 2;
    } else {
      out[outIdx] = tok;
      i++;
    }
  }
  return out.join('');
}

export function reverseRunes(text: string): string {
  return Array.from(text).reverse().join('');
}

/** `${V/p/r}`: the first (leftmost, longest-star) match is replaced by r taken literally. */
export function replaceFirst(pattern: string, value: string, replacement: string): string {
  const m = execAt(shellPatternToRegExp(pattern, true, false), value, 0);
  if (m === null) return value;
  return value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length);
}

/**
 * `${V//p/r}`: Go's Regexp.ReplaceAllString — an empty match right after a match is skipped, and
 * the replacement is a Go template (`$$` is `$`, `$0`/`${0}` the match, other `$name`s empty).
 */
export function replaceAll(pattern: string, value: string, replacement: string): string {
  const re = shellPatternToRegExp(pattern, true, false);
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= value.length) {
    const m = execAt(re, value, searchPos);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    out += value.slice(lastMatchEnd, start);
    if (end > lastMatchEnd || start === 0) out += expandTemplate(replacement, m[0]);
    lastMatchEnd = end;
    const width = runeWidthAt(value, searchPos);
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + value.slice(lastMatchEnd);
}

function execAt(re: RegExp, value: string, from: number): RegExpExecArray | null {
  re.lastIndex = from;
  return re.exec(value);
}

function runeWidthAt(text: string, pos: number): number {
  const cp = text.codePointAt(pos);
  if (cp === undefined) return 0;
  return cp > 0xffff ? 2 : 1;
}

/** Go's Regexp.Expand for a regexp whose only group is the whole match. */
export function expandTemplate(template: string, whole: string): string {
  let out = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar < 0) break;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = extractGroupRef(rest);
    if (ref === null) {
      out += '$';
      continue;
    }
    rest = ref.rest;
    if (ref.name === '0') out += whole;
  }
  return out + rest;
}

const NAME_CHAR = /^[\p{L}\p{Nd}_]$/u;

function extractGroupRef(text: string): { name: string; rest: string } | null {
  const brace = text.startsWith('{');
  const body = brace ? text.slice(1) : text;
  let len = 0;
  for (const ch of body) {
    if (!NAME_CHAR.test(ch)) break;
    len += ch.length;
  }
  if (len === 0) return null;
  const name = body.slice(0, len);
  if (!brace) return { name, rest: body.slice(len) };
  if (body[len] !== '}') return null;
  return { name, rest: body.slice(len + 1) };
}
