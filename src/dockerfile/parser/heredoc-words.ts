/**
 * Word splitting for heredoc detection, as BuildKit's shell.Lex does it with an empty environment and
 * SkipUnsetEnv (so `$X`/`${X…}` stay as written). BuildKit finds heredocs by lexing the instruction line with
 * this lexer and matching each word against `<<WORD`; the quote-keeping (RawQuotes) and escape-keeping
 * (RawEscapes) switches decide whether the delimiter was quoted. Only what that needs is here: variable
 * expansion proper belongs to src/dockerfile/shell/.
 */
import { WordSplitter } from '../shell/words.ts';
import { goQuote } from './go-text.ts';

export interface WordLexOptions {
  rawQuotes: boolean;
  rawEscapes: boolean;
}

const ESCAPE = '\\';

/** shell.Lex.ProcessWords(word, emptyEnv) with escape token `\` and SkipUnsetEnv. Throws on a lexing error. */
export function lexWords(source: string, options: WordLexOptions): string[] {
  const lexer = new WordLexer(source, options);
  try {
    return lexer.processStopOn(undefined, options.rawEscapes).words;
  } catch (err) {
    throw new Error(`failed to process ${goQuote(source)}: ${(err as Error).message}`);
  }
}

class WordLexer {
  private readonly chars: string[];
  private pos = 0;
  private readonly rawQuotes: boolean;
  private rawEscapes: boolean;

  constructor(source: string, options: WordLexOptions) {
    this.chars = Array.from(source);
    this.rawQuotes = options.rawQuotes;
    this.rawEscapes = options.rawEscapes;
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    return this.pos < this.chars.length ? this.chars[this.pos++] : undefined;
  }

  processStopOn(stopChar: string | undefined, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      return this.scanUntil(stopChar);
    } finally {
      this.rawEscapes = saved;
    }
  }

  private scanUntil(stopChar: string | undefined): { result: string; words: string[] } {
    let result = '';
    const words = new WordSplitter();
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (stopChar !== undefined && ch === stopChar) {
        this.next();
        return { result, words: words.finish() };
      }
      const special = this.special(ch);
      if (special) {
        const tmp = special();
        result += tmp;
        if (ch === '$') words.addString(tmp);
        else words.addRawString(tmp);
        continue;
      }
      let c = this.next()!;
      if (c === ESCAPE) {
        if (this.rawEscapes) {
          words.addRawChar(c);
          result += c;
        }
        const escaped = this.next();
        if (escaped === undefined) break;
        c = escaped;
        words.addRawChar(c);
      } else {
        words.addChar(c);
      }
      result += c;
    }
    if (stopChar !== undefined) throw new Error(`unexpected end of statement while looking for matching ${stopChar}`);
    return { result, words: words.finish() };
  }

  private special(ch: string): (() => string) | undefined {
    switch (ch) {
      case '$': return () => this.processDollar();
      case '<': return () => this.processPossibleHeredoc();
      case "'": return () => this.processSingleQuote();
      case '"': return () => this.processDoubleQuote();
      default: return undefined;
    }
  }

  private processSingleQuote(): string {
    let result = this.rawQuotes ? this.next()! : (this.next(), '');
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new Error('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return this.rawQuotes ? result + ch : result;
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    let result = this.rawQuotes ? this.next()! : (this.next(), '');
    for (;;) {
      const peeked = this.peek();
      if (peeked === undefined) throw new Error('unexpected end of statement while looking for matching double-quote');
      if (peeked === '"') {
        this.next();
        return this.rawQuotes ? result + '"' : result;
      }
      if (peeked === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next()!;
      if (ch === ESCAPE) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === undefined) continue;
        if (after === '"' || after === '$' || after === ESCAPE) ch = this.next()!;
      }
      result += ch;
    }
  }

  /** `$…` with nothing set and SkipUnsetEnv: the reference comes back as written (modifier words lexed). */
  private processDollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      return name === '' ? '$' : '$' + name;
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new Error("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new Error('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next() ?? '\ufffd';
    let chs = ch;
    if (ch === '}') return '${' + name + '}';
    if (ch === ':') {
      ch = this.next() ?? '\ufffd';
      chs += ch;
    }
    if (chs.startsWith(':') || '+-?#%'.includes(ch)) {
      const word = this.stopOnOrMissing('}', ch === '#' || ch === '%', "syntax error: missing '}'");
      return '${' + name + chs + word + '}';
    }
    if (ch === '/') {
      if (this.peek() === '/') this.next();
      const pattern = this.stopOnOrMissing('/', true, "syntax error: missing '/' in ${}");
      const replacement = this.stopOnOrMissing('}', true, "syntax error: missing '}'");
      return '${' + name + '/' + pattern + '/' + replacement + '}';
    }
    throw new Error(`unsupported modifier (${chs}) in substitution`);
  }

  private stopOnOrMissing(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.processStopOn(stop, rawEscapes).result;
    } catch (err) {
      if (this.peek() === undefined) throw new Error(missing);
      throw err;
    }
  }

  private processName(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name === '' && isDigit(ch)) {
        while (this.peek() !== undefined && isDigit(this.peek()!)) name += this.next();
        return name;
      }
      if (name === '' && '@*#?-$!0'.includes(ch)) return this.next()!;
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  /** `<<` keeps the blanks after it in its word, so `<< EOF` is one word, as BuildKit's lexer does. */
  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let space = '';
    for (let ch = this.peek(); ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n'; ch = this.peek()) {
      space += this.next();
    }
    return '<<' + space;
  }
}

function isDigit(ch: string): boolean {
  return /^\p{Nd}$/u.test(ch);
}

function isLetter(ch: string): boolean {
  return /^\p{L}$/u.test(ch);
}
