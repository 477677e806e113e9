/**
 * Splits an instruction line into its name, its leading `--flags` and the rest, as BuildKit's splitCommand and
 * extractBuilderFlags. Flags are only collected, never checked: which flags an instruction takes is known by
 * src/dockerfile/instructions/.
 */
import { goTrimSpace, isGoSpace } from './go-text.ts';

export interface SplitCommand {
  /** The instruction name as written. */
  name: string;
  flags: string[];
  /** Everything after the flags, trimmed. */
  rest: string;
}

const instructionSeparator = /[\t\v\f\r ]+/;

export function splitCommand(line: string): SplitCommand {
  const trimmed = goTrimSpace(line);
  const sep = instructionSeparator.exec(trimmed);
  if (!sep) return { name: trimmed, flags: [], rest: '' };
  const { rest, flags } = extractBuilderFlags(trimmed.slice(sep.index + sep[0].length));
  return { name: trimmed.slice(0, sep.index), flags, rest: goTrimSpace(rest) };
}

const IN_SPACES = 0;
const IN_WORD = 1;
const IN_QUOTE = 2;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

/**
 * Leading words that start with `--` are flags (quotes and `\` escapes removed); a bare `--` ends them.
 * BuildKit walks this text byte by byte and turns each byte into a rune, so non-ASCII text inside a flag
 * comes out as Latin-1 mojibake (and the bytes 0x85/0xA0 count as blanks): reproduced on purpose, so that a
 * flag value compares the way it does under BuildKit.
 */
export function extractBuilderFlags(line: string): { rest: string; flags: string[] } {
  const bytes = Buffer.from(line, 'utf8');
  const restFrom = (pos: number): string => bytes.subarray(pos).toString('utf8');
  const words: string[] = [];
  let phase = IN_SPACES;
  let word = '';
  let quote = 0;
  let blankOK = false;
  let ch = 0;
  for (let pos = 0; pos <= bytes.length; pos++) {
    if (pos !== bytes.length) ch = bytes[pos];
    if (phase === IN_SPACES) {
      if (pos === bytes.length) break;
      if (isGoSpace(ch)) continue;
      if (ch !== DASH || pos + 1 === bytes.length || bytes[pos + 1] !== DASH) return { rest: restFrom(pos), flags: words };
      phase = IN_WORD;
    }
    if (pos === bytes.length) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (phase === IN_WORD) {
      if (isGoSpace(ch)) {
        phase = IN_SPACES;
        if (word === '--') return { rest: restFrom(pos), flags: words };
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === 0x27 || ch === 0x22) {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
        continue;
      }
      if (ch === BACKSLASH) {
        if (pos + 1 === bytes.length) continue;
        ch = bytes[++pos];
      }
      word += String.fromCharCode(ch);
      continue;
    }
    if (ch === quote) {
      phase = IN_WORD;
      continue;
    }
    if (ch === BACKSLASH) {
      if (pos + 1 === bytes.length) {
        phase = IN_WORD;
        continue;
      }
      ch = bytes[++pos];
    }
    word += String.fromCharCode(ch);
  }
  return { rest: '', flags: words };
}
