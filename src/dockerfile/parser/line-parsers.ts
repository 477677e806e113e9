/**
 * BuildKit's per-instruction argument readers (its line_parsers.go): each turns the text after the name and
 * flags into the argument list that the node chain holds. Nothing is expanded or unquoted here.
 */
import { goQuote, isGoSpace } from './go-text.ts';
import { notStringArrayMessage, parseJsonArgs } from '../json-args.ts';

export interface LineArgs {
  args: string[];
  /** Exec form (a JSON array). */
  json: boolean;
}

const whitespaceRun = /[\t\v\f\r ]+/;
const noArgs: LineArgs = { args: [], json: false };

/** Unknown instructions keep their name and lose their arguments. */
export function parseIgnore(): LineArgs {
  return { args: [], json: false };
}

/** MAINTAINER, STOPSIGNAL, USER, WORKDIR: the whole rest is one argument. */
export function parseString(rest: string): LineArgs {
  return rest === '' ? noArgs : { args: [rest], json: false };
}

/** FROM, EXPOSE (and the shell form of COPY/ADD/VOLUME): blank-separated words, quotes not special. */
export function parseStringsWhitespaceDelimited(rest: string): LineArgs {
  return rest === '' ? noArgs : { args: rest.split(whitespaceRun), json: false };
}

/** RUN, CMD, ENTRYPOINT, SHELL: a JSON array of strings, or else the whole rest as one shell-form string. */
export function parseMaybeJSON(rest: string): LineArgs {
  if (rest === '') return noArgs;
  const parsed = parseJsonArgs(rest);
  if (parsed.kind === 'json') return { args: parsed.values, json: true };
  if (parsed.kind === 'not-string-array') throw new Error(notStringArrayMessage);
  return { args: [rest], json: false };
}

/** COPY, ADD, VOLUME: a JSON array of strings, or else blank-separated words. */
export function parseMaybeJSONToList(rest: string): LineArgs {
  const parsed = parseJsonArgs(rest);
  if (parsed.kind === 'json') return { args: parsed.values, json: true };
  if (parsed.kind === 'not-string-array') throw new Error(notStringArrayMessage);
  return parseStringsWhitespaceDelimited(rest);
}

/** HEALTHCHECK: a type word (CMD, NONE, …) then, for the rest, what parseMaybeJSON gives. */
export function parseHealthConfig(rest: string): LineArgs {
  // BuildKit finds the first word byte by byte; done on the UTF-8 bytes to split in the same place.
  const bytes = Buffer.from(rest, 'utf8');
  let sep = 0;
  while (sep < bytes.length && !isGoSpace(bytes[sep])) sep++;
  let next = sep;
  while (next < bytes.length && isGoSpace(bytes[next])) next++;
  if (sep === 0) return noArgs;
  const command = parseMaybeJSON(bytes.subarray(next).toString('utf8'));
  return { args: [bytes.subarray(0, sep).toString('utf8'), ...command.args], json: command.json };
}

/** ARG: the words, quotes kept (`abc="123 456"` is one word). */
export function parseNameOrNameVal(rest: string, escapeToken: string): LineArgs {
  return { args: parseWords(rest, escapeToken), json: false };
}

/** ENV and LABEL: (name, value, separator) triples; see parseNameVal. */
export function parseEnv(rest: string, escapeToken: string): LineArgs {
  return { args: parseNameVal(rest, 'ENV', escapeToken), json: false };
}

export function parseLabel(rest: string, escapeToken: string): LineArgs {
  return { args: parseNameVal(rest, 'LABEL', escapeToken), json: false };
}

/**
 * `KEY name value…` (old form: separator "", the value is the verbatim rest of the line) or
 * `KEY a=1 b="x y"` (separator "=", quotes and escapes kept verbatim). The form is chosen by whether the
 * first word holds an `=`.
 */
function parseNameVal(rest: string, key: string, escapeToken: string): string[] {
  const words = parseWords(rest, escapeToken);
  if (words.length === 0) return [];
  if (!words[0].includes('=')) {
    const sep = whitespaceRun.exec(rest);
    if (!sep) throw new Error(`${key} must have two arguments`);
    return [rest.slice(0, sep.index), rest.slice(sep.index + sep[0].length), ''];
  }
  const args: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      throw new Error(`Syntax error - can't find = in ${goQuote(word)}. Must be of the form: name=value`);
    }
    args.push(word.slice(0, eq), word.slice(eq + 1), '=');
  }
  return args;
}

const IN_SPACES = 0;
const IN_WORD = 1;
const IN_QUOTE = 2;

/**
 * Splits on blanks outside quotes, keeping quotes and escape tokens in the words (they are removed later by
 * the shell lexer). An escape token at the very end is dropped.
 */
export function parseWords(rest: string, escapeToken: string): string[] {
  const chars = Array.from(rest);
  const words: string[] = [];
  let phase = IN_SPACES;
  let word = '';
  let quote = '';
  let blankOK = false;
  let ch = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    if (pos !== chars.length) ch = chars[pos];
    if (phase === IN_SPACES) {
      if (pos === chars.length) break;
      if (isSpace(ch)) continue;
      phase = IN_WORD;
    }
    if (pos === chars.length) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === IN_WORD) {
      if (isSpace(ch)) {
        phase = IN_SPACES;
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
      }
      if (ch === escapeToken) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        ch = chars[++pos];
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = IN_WORD;
    if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = IN_WORD;
        continue;
      }
      word += ch;
      ch = chars[++pos];
    }
    word += ch;
  }
  return words;
}

function isSpace(ch: string): boolean {
  return isGoSpace(ch.codePointAt(0)!);
}
