/** Public API of the Dockerfile shell lexer (BuildKit's frontend/dockerfile/shell). */
import { lexWord } from './lex.ts';
import type { LexSettings, ShellEnv } from './lex.ts';

export { ShellExpansionError } from './errors.ts';
export type { ShellEnv } from './lex.ts';
export { envFromList } from './env.ts';

export interface LexOptions {
  /** The Dockerfile's escape directive; default `\`. */
  escapeToken?: '\\' | '`';
  rawQuotes?: boolean;
  rawEscapes?: boolean;
  skipUnsetEnv?: boolean;
  skipProcessQuotes?: boolean;
}

export interface WordResult {
  result: string;
  /** Names that were looked up and found. */
  matched: Set<string>;
  /** Names that were looked up and not set. */
  unmatched: Set<string>;
}

/** Expands `word` as one word (blanks kept); throws ShellExpansionError. */
export function processWord(word: string, env: ShellEnv, options?: LexOptions): string {
  return lexWord(word, env, settingsOf(options)).result;
}

export function processWordWithMatches(word: string, env: ShellEnv, options?: LexOptions): WordResult {
  const { result, matched, unmatched } = lexWord(word, env, settingsOf(options));
  return { result, matched, unmatched };
}

/**
 * Expands `word` and splits it on unquoted blanks, those from variable values included
 * (`EXPOSE $PORTS` with PORTS="80 443" gives two words); throws ShellExpansionError.
 */
export function processWords(word: string, env: ShellEnv, options?: LexOptions): string[] {
  return lexWord(word, env, settingsOf(options)).words;
}

function settingsOf(options: LexOptions = {}): LexSettings {
  return {
    escapeToken: options.escapeToken ?? '\\',
    rawQuotes: options.rawQuotes ?? false,
    rawEscapes: options.rawEscapes ?? false,
    skipUnsetEnv: options.skipUnsetEnv ?? false,
    skipProcessQuotes: options.skipProcessQuotes ?? false,
  };
}
