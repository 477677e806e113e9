/**
 * A cursor over the Unicode code points of a string, shaped like Go's text/scanner Peek/Next:
 * BuildKit's lexer reads runes, so `$안녕` or an astral character is one step, never two.
 */
export class RuneScanner {
  private readonly runes: readonly string[];
  private pos = 0;

  constructor(text: string) {
    this.runes = Array.from(text);
    // text/scanner drops a byte order mark at the very start.
    if (this.runes[0] === '\uFEFF') this.pos = 1;
  }

  /** The next code point without consuming it; undefined at the end. */
  peek(): string | undefined {
    return this.runes[this.pos];
  }

  /** Consumes and returns the next code point; undefined at the end. */
  next(): string | undefined {
    const ch = this.runes[this.pos];
    if (ch !== undefined) this.pos++;
    return ch;
  }
}

/** Go renders string(EOF) as U+FFFD; error messages built from "the next rune" show that. */
export function runeText(ch: string | undefined): string {
  return ch ?? '\uFFFD';
}

/** Go's unicode.IsSpace is exactly the Unicode White_Space property. */
export function isSpace(ch: string): boolean {
  return /^\p{White_Space}$/u.test(ch);
}

/** Go's unicode.IsLetter: general category L. */
export function isLetter(ch: string): boolean {
  return /^\p{L}$/u.test(ch);
}

/** Go's unicode.IsDigit: general category Nd (so non-ASCII decimal digits count too). */
export function isDigit(ch: string): boolean {
  return /^\p{Nd}$/u.test(ch);
}
