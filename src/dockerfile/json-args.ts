/**
 * The exec-form (JSON array) reading of an instruction's arguments, as BuildKit's parseJSON: the text must
 * start with `[` and be exactly one JSON value (json.Unmarshal: trailing text is an error). Anything that is
 * not valid JSON is "not JSON" and the caller falls back to the shell form; valid JSON holding anything but
 * strings is a hard error.
 */
import { goTrimLeftSpace, toWellFormed } from './parser/go-text.ts';

export const notStringArrayMessage = 'when using JSON array syntax, arrays must be comprised of strings only';

export type JsonArgs =
  | { kind: 'json'; values: string[] }
  | { kind: 'not-json' }
  | { kind: 'not-string-array' };

export function parseJsonArgs(rest: string): JsonArgs {
  const text = goTrimLeftSpace(rest);
  if (!text.startsWith('[')) return { kind: 'not-json' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'not-json' };
  }
  if (!Array.isArray(value)) return { kind: 'not-json' };
  if (!value.every((v): v is string => typeof v === 'string')) return { kind: 'not-string-array' };
  return { kind: 'json', values: value.map(toWellFormed) };
}
