/**
 * A failure inside the lexer, before it is tied to the word being processed. BuildKit wraps these as
 * `failed to process "<word>": <reason>`; ShellExpansionError is that wrapped form.
 */
export class LexFailure extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'LexFailure';
  }
}

/** A word could not be expanded: bad substitution, `${V:?msg}`, unterminated quote, bad pattern. */
export class ShellExpansionError extends Error {
  /** The word as given to the lexer. */
  readonly word: string;
  /** BuildKit's inner message, e.g. `VAR: is not allowed to be unset`. */
  readonly reason: string;

  constructor(word: string, reason: string) {
    super(`failed to process ${quoteWord(word)}: ${reason}`);
    this.name = 'ShellExpansionError';
    this.word = word;
    this.reason = reason;
  }
}

/** A word of hostile length is cut in the message (which stays one readable line); the location has the rest. */
const MAX_QUOTED_WORD = 200;

function quoteWord(word: string): string {
  const runes = Array.from(word);
  if (runes.length <= MAX_QUOTED_WORD) return goQuote(word);
  return `${goQuote(runes.slice(0, MAX_QUOTED_WORD).join(''))}… (${runes.length} characters)`;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v',
  '\\': '\\\\', '"': '\\"',
};

/** Go's strconv.Quote (what `%q` prints), so messages read exactly as BuildKit's. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const named = NAMED_ESCAPES[ch];
    if (named !== undefined) {
      out += named;
    } else if (PRINTABLE.test(ch)) {
      out += ch;
    } else {
      const cp = ch.codePointAt(0) ?? 0;
      if (cp < 0x80) out += `\\x${hex(cp, 2)}`;
      else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
      else out += `\\U${hex(cp, 8)}`;
    }
  }
  return out + '"';
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
