/**
 * The few pieces of Go's text handling that BuildKit's parser leans on, reproduced exactly so that
 * Kiln splits, trims and prints Dockerfile text the way BuildKit does (JavaScript's own `trim()`,
 * `\s` and `JSON.stringify` disagree with Go on several characters).
 */

const whiteSpaceProperty = /^\p{White_Space}$/u;
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Go's unicode.IsSpace. */
export function isGoSpace(cp: number): boolean {
  if (cp <= 0xff) {
    return cp === 0x09 || cp === 0x0a || cp === 0x0b || cp === 0x0c || cp === 0x0d || cp === 0x20 ||
      cp === 0x85 || cp === 0xa0;
  }
  return whiteSpaceProperty.test(String.fromCodePoint(cp));
}

/** Go's strings.TrimLeftFunc(s, unicode.IsSpace). */
export function goTrimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    if (!isGoSpace(cp)) break;
    i += cp > 0xffff ? 2 : 1;
  }
  return s.slice(i);
}

/** Go's strings.TrimSpace. */
export function goTrimSpace(s: string): string {
  const left = goTrimLeftSpace(s);
  let end = left.length;
  while (end > 0) {
    const low = left.charCodeAt(end - 1);
    const isPair = end >= 2 && low >= 0xdc00 && low <= 0xdfff && isHighSurrogate(left.charCodeAt(end - 2));
    const cp = isPair ? left.codePointAt(end - 2)! : low;
    if (!isGoSpace(cp)) break;
    end -= isPair ? 2 : 1;
  }
  return left.slice(0, end);
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

/** Go's strconv.Quote: `"…"` with Go's escapes (`\x00`, `\u00a0`, `\U0001f600` for unprintable runes). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    // A lone surrogate cannot exist in a Go string; Go would hold U+FFFD in its place.
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += '\ufffd';
      continue;
    }
    if (ch === '"' || ch === '\\') {
      out += '\\' + ch;
      continue;
    }
    if (cp === 0x20 || printable.test(ch)) {
      out += ch;
      continue;
    }
    out += escapeUnprintable(cp);
  }
  return out + '"';
}

const namedEscapes: Record<number, string> = {
  0x07: '\\a', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x0b: '\\v',
};

function escapeUnprintable(cp: number): string {
  const named = namedEscapes[cp];
  if (named) return named;
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

/** Replaces lone UTF-16 surrogates by U+FFFD, as Go's JSON decoder does for `"\ud800"`. */
export function toWellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
