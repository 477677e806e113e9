/**
 * The Dockerfile shell-word lexer: quotes, escapes and `$` expansion, following BuildKit's
 * frontend/dockerfile/shell Lex rule for rule (including its quirks, which Dockerfiles rely on).
 */
import { LexFailure, ShellExpansionError } from './errors.ts';
import { replaceAll, replaceFirst } from './glob-pattern.ts';
import { RuneScanner, isDigit, isLetter, runeText } from './runes.ts';
import { applyOperator, unsupportedModifier } from './substitution.ts';
import { WordSplitter } from './words.ts';

/** Variables visible during expansion; later entries override earlier. */
export type ShellEnv = ReadonlyMap<string, string>;

export interface LexSettings {
  escapeToken: string;
  /** Keep the quote characters in the result (they still group text). */
  rawQuotes: boolean;
  /** Keep escape tokens in the result (they still escape). */
  rawEscapes: boolean;
  /** Leave references to unset variables as written (`$X`, `${X:-y}`). */
  skipUnsetEnv: boolean;
  /** Treat `'` and `"` as ordinary characters. */
  skipProcessQuotes: boolean;
}

export interface LexOutcome {
  result: string;
  words: string[];
  matched: Set<string>;
  unmatched: Set<string>;
}

/** Expands one word; throws ShellExpansionError with BuildKit's message on failure. */
export function lexWord(word: string, env: ShellEnv, settings: LexSettings): LexOutcome {
  const lexer = new WordLexer(word, env, settings);
  try {
    const { text, words } = lexer.processStopOn(undefined, settings.rawEscapes);
    return { result: text, words, matched: lexer.matched, unmatched: lexer.unmatched };
  } catch (err) {
    if (err instanceof LexFailure) throw new ShellExpansionError(word, err.message);
    throw err;
  }
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

/**
 * The lexer recurses once per `${…}` nesting level. Go's growable stacks let BuildKit go deeper; here a
 * hostile `${a:-${a:-…}}` would overflow the stack, so past this depth expansion stops with a clear error.
 * Real Dockerfiles nest a handful of levels.
 */
export const MAX_SUBSTITUTION_DEPTH = 200;

interface Segment {
  text: string;
  words: string[];
}

class WordLexer {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  private readonly scanner: RuneScanner;
  private readonly env: ShellEnv;
  private readonly settings: LexSettings;
  /** Changes while reading the parts of a `${}`: pattern parts keep escapes for the glob. */
  private rawEscapes: boolean;
  /** How many `${` are open. */
  private depth = 0;

  constructor(word: string, env: ShellEnv, settings: LexSettings) {
    this.scanner = new RuneScanner(word);
    this.env = env;
    this.settings = settings;
    this.rawEscapes = settings.rawEscapes;
  }

  /** Reads up to (and consumes) stopChar, or to the end when stopChar is undefined. */
  processStopOn(stopChar: string | undefined, rawEscapes: boolean): Segment {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      return this.readSegment(stopChar);
    } finally {
      this.rawEscapes = saved;
    }
  }

  private readSegment(stopChar: string | undefined): Segment {
    const sc = this.scanner;
    const esc = this.settings.escapeToken;
    const quotes = !this.settings.skipProcessQuotes;
    const words = new WordSplitter();
    let text = '';
    for (let ch = sc.peek(); ch !== undefined; ch = sc.peek()) {
      if (stopChar !== undefined && ch === stopChar) {
        sc.next();
        return { text, words: words.finish() };
      }
      if (ch === '$') {
        const value = this.processDollar();
        text += value;
        words.addString(value);
      } else if (ch === '<') {
        const value = this.processPossibleHeredoc();
        text += value;
        words.addRawString(value);
      } else if (quotes && (ch === "'" || ch === '"')) {
        const value = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
        text += value;
        words.addRawString(value);
      } else {
        sc.next();
        if (ch === esc) {
          if (this.rawEscapes) {
            words.addRawChar(ch);
            text += ch;
          }
          // A trailing escape token is dropped.
          const escaped = sc.next();
          if (escaped === undefined) break;
          words.addRawChar(escaped);
          text += escaped;
        } else {
          words.addChar(ch);
          text += ch;
        }
      }
    }
    if (stopChar !== undefined) {
      throw new LexFailure(`unexpected end of statement while looking for matching ${stopChar}`);
    }
    return { text, words: words.finish() };
  }

  /**
   * `<<` keeps the blanks after it in its word, so `<< EOF` is one word: BuildKit's parser finds heredoc
   * markers with this lexer. The text is unchanged.
   */
  private processPossibleHeredoc(): string {
    const sc = this.scanner;
    sc.next();
    if (sc.peek() !== '<') return '<';
    sc.next();
    let out = '<<';
    for (let ch = sc.peek(); ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n'; ch = sc.peek()) out += sc.next();
    return out;
  }

  /** Everything up to the next `'` is literal; there is no way to escape a single quote. */
  private processSingleQuote(): string {
    const sc = this.scanner;
    const raw = this.settings.rawQuotes;
    let out = raw ? (sc.next() ?? '') : (sc.next(), '');
    for (;;) {
      const ch = sc.next();
      if (ch === undefined) throw new LexFailure('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return raw ? out + ch : out;
      out += ch;
    }
  }

  /** `$` expands; the escape token escapes only `"`, `$` and itself, otherwise it stays literal. */
  private processDoubleQuote(): string {
    const sc = this.scanner;
    const raw = this.settings.rawQuotes;
    const esc = this.settings.escapeToken;
    let out = raw ? (sc.next() ?? '') : (sc.next(), '');
    for (;;) {
      const peeked = sc.peek();
      if (peeked === undefined) throw new LexFailure('unexpected end of statement while looking for matching double-quote');
      if (peeked === '"') {
        sc.next();
        return raw ? out + peeked : out;
      }
      if (peeked === '$') {
        out += this.processDollar();
        continue;
      }
      let ch = sc.next() as string;
      if (ch === esc) {
        if (this.rawEscapes) out += ch;
        const following = sc.peek();
        if (following === undefined) continue;
        if (following === '"' || following === '$' || following === esc) ch = sc.next() as string;
      }
      out += ch;
    }
  }

  private processDollar(): string {
    const sc = this.scanner;
    sc.next();
    if (sc.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const { value, set } = this.lookup(name);
      if (!set && this.settings.skipUnsetEnv) return `$${name}`;
      return value;
    }
    sc.next();
    if (this.depth >= MAX_SUBSTITUTION_DEPTH) {
      throw new LexFailure(`\${} nested more than ${MAX_SUBSTITUTION_DEPTH} levels deep`);
    }
    this.depth++;
    try {
      return this.processBraced();
    } finally {
      this.depth--;
    }
  }

  /** After `${`. */
  private processBraced(): string {
    const sc = this.scanner;
    const first = sc.peek();
    if (first === undefined) throw new LexFailure("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexFailure('syntax error: bad substitution');

    const name = this.processName();
    const opChar = sc.next();
    if (opChar === '}') {
      const { value, set } = this.lookup(name);
      if (!set && this.settings.skipUnsetEnv) return `\${${name}}`;
      return value;
    }
    if (opChar === '/') return this.processReplace(name);
    if (opChar === ':' || opChar === '+' || opChar === '-' || opChar === '?' || opChar === '#' || opChar === '%') {
      return this.processOperator(name, opChar);
    }
    throw unsupportedModifier(runeText(opChar));
  }

  /** `${NAME op WORD}` with op one of `- + ? # %`, optionally preceded by `:`. */
  private processOperator(name: string, opChar: string): string {
    const colon = opChar === ':';
    const op = colon ? this.scanner.next() : opChar;
    const spelled = colon ? `:${runeText(op)}` : opChar;
    const patternOp = op === '#' || op === '%';
    if (colon && patternOp) throw unsupportedModifier(spelled);
    const word = this.readUntilBrace(patternOp);
    const param = this.lookup(name);
    if (this.settings.skipUnsetEnv && !param.set) return `\${${name}${spelled}${word}}`;
    return applyOperator({ name, ...param }, runeText(op), spelled, colon, word);
  }

  /** `${NAME/pattern/replacement}` and `${NAME//pattern/replacement}`. */
  private processReplace(name: string): string {
    const sc = this.scanner;
    const all = sc.peek() === '/';
    if (all) sc.next();
    let pattern: string;
    try {
      pattern = this.processStopOn('/', true).text;
    } catch (err) {
      if (err instanceof LexFailure && sc.peek() === undefined) throw new LexFailure("syntax error: missing '/' in ${}");
      throw err;
    }
    const replacement = this.readUntilBrace(true);
    const { value, set } = this.lookup(name);
    if (this.settings.skipUnsetEnv && !set) return `\${${name}/${pattern}/${replacement}}`;
    return all ? replaceAll(pattern, value, replacement) : replaceFirst(pattern, value, replacement);
  }

  private readUntilBrace(rawEscapes: boolean): string {
    try {
      return this.processStopOn('}', rawEscapes).text;
    } catch (err) {
      if (err instanceof LexFailure && this.scanner.peek() === undefined) throw new LexFailure("syntax error: missing '}'");
      throw err;
    }
  }

  /**
   * A name is letters, digits and `_`; a leading digit starts a positional parameter (all the
   * digits), and a leading special character (`$@*#?-!0`) is a one-character name.
   */
  private processName(): string {
    const sc = this.scanner;
    let name = '';
    for (let ch = sc.peek(); ch !== undefined; ch = sc.peek()) {
      if (name === '' && isDigit(ch)) {
        for (let d = sc.peek(); d !== undefined && isDigit(d); d = sc.peek()) name += sc.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return sc.next() as string;
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += sc.next();
    }
    return name;
  }

  private lookup(name: string): { value: string; set: boolean } {
    const value = this.env.get(name);
    if (value === undefined) {
      this.unmatched.add(name);
      return { value: '', set: false };
    }
    this.matched.add(name);
    return { value, set: true };
  }
}
