/**
 * Heredoc markers (`<<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`) as BuildKit's parser finds them: the instruction line
 * is split into shell words, and each word that is exactly a marker starts a heredoc whose body follows the
 * instruction, in order of appearance.
 */
import { processWords } from './shell/index.ts';

export interface HeredocMarker {
  /** The delimiter with quotes removed. */
  name: string;
  /** False when any part of the delimiter was quoted. */
  expand: boolean;
  /** True for `<<-`. */
  chomp: boolean;
  /** The `n` of `n<<EOF`; 0 when absent. */
  fileDescriptor: number;
}

/** Instructions whose arguments may hold heredocs; ONBUILD may carry one of them. */
export const heredocInstructions: ReadonlySet<string> = new Set(['add', 'copy', 'run']);

const markerPattern = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;
const noEnv: ReadonlyMap<string, string> = new Map();

/** Words as BuildKit's parser lexes them for heredocs: nothing set, unset references kept as written. */
function lexWords(source: string, options: { rawQuotes: boolean; rawEscapes: boolean }): string[] {
  return processWords(source, noEnv, { ...options, skipUnsetEnv: true });
}

/**
 * Reads one word as a heredoc marker: undefined when it is not one (`<<`, `<EOF`, `<<EOF sh`), an Error when it
 * is malformed (`<<'EOF`).
 */
export function parseHeredocMarker(word: string): HeredocMarker | undefined {
  const match = markerPattern.exec(word);
  if (!match) return undefined;
  const rest = match[3];
  if (rest.length === 0) return undefined;
  const words = lexWords(rest, { rawQuotes: false, rawEscapes: false });
  if (words.length !== 1) return undefined;
  const rawWords = lexWords(rest, { rawQuotes: true, rawEscapes: false });
  if (rawWords.length !== words.length) {
    throw new Error(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  }
  // An escaped quote survives both lexings alike; only a quote that quoted something differs.
  const name = words[0];
  const expand = countQuotes(name) === countQuotes(rawWords[0]);
  const fd = match[1] === '' ? 0 : Number(match[1]);
  return { name, expand, chomp: match[2] === '-', fileDescriptor: Number.isSafeInteger(fd) ? fd : 0 };
}

/** All heredoc markers of an instruction line, in order. A line that does not lex has none. */
export function heredocMarkersInLine(line: string): HeredocMarker[] {
  let words: string[];
  try {
    words = lexWords(line, { rawQuotes: true, rawEscapes: true });
  } catch {
    return [];
  }
  const markers: HeredocMarker[] = [];
  for (const word of words) {
    const marker = parseHeredocMarker(word);
    if (marker) markers.push(marker);
  }
  return markers;
}

/** Removes leading tabs from every line, as `<<-` asks. */
export function chompHeredocContent(content: string): string {
  // Go's (?m)^ starts a line only after \n (JavaScript's m flag would also split on \r, \u2028, \u2029).
  return content.replace(/(^|\n)\t+/g, '$1');
}

function countQuotes(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === "'" || ch === '"') n++;
  return n;
}
