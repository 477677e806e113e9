/**
 * History entries as BuildKit writes them (commitToHistory), and Go's fmt verbs that BuildKit's
 * `created_by` strings are made with.
 */
import { goQuote } from '../dockerfile/parser/go-text.ts';
import type { History } from '../image/types.ts';

/** A history entry. `fromFilesystemChange` marks BuildKit's "# buildkit" suffix (COPY, ADD, RUN). */
export function historyEntry(createdBy: string, options: { layer: boolean; fromFilesystemChange?: boolean; created?: string }): History {
  const entry: History = {
    ...(options.created === undefined ? {} : { created: options.created }),
    created_by: options.fromFilesystemChange ? `${createdBy} # buildkit` : createdBy,
    comment: 'buildkit.dockerfile.v0',
  };
  if (!options.layer) entry.empty_layer = true;
  return entry;
}

/** Go's `%q` of a []string: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(' ')}]`;
}

/** Go's `%v` of a []string: `[a b]`. */
export function goList(list: readonly string[]): string {
  return `[${list.join(' ')}]`;
}

/** Go's time.Duration String() for nanoseconds: "0s", "1.5s", "1m30s", "2h0m0s", "500ms". */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let n = Math.abs(ns);
  if (n < 1e3) return `${sign}${n}ns`;
  if (n < 1e6) return `${sign}${trimZeros(n / 1e3)}µs`;
  if (n < 1e9) return `${sign}${trimZeros(n / 1e6)}ms`;
  const hours = Math.floor(n / 3.6e12);
  n -= hours * 3.6e12;
  const minutes = Math.floor(n / 6e10);
  n -= minutes * 6e10;
  const seconds = `${trimZeros(n / 1e9)}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

function trimZeros(value: number): string {
  return value.toFixed(9).replace(/\.?0+$/, '');
}

/** Go's `%q` of an integer: a quoted character literal ('\x05', 'a'). */
export function goQuoteRune(code: number): string {
  if (code >= 0x20 && code < 0x7f && code !== 0x27 && code !== 0x5c) return `'${String.fromCharCode(code)}'`;
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x27: "\\'", 0x5c: '\\\\' };
  if (named[code]) return `'${named[code]}'`;
  if (code < 0x100) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  return `'${String.fromCodePoint(code)}'`;
}
