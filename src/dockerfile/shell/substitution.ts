/**
 * What `${NAME<op>WORD}` evaluates to once WORD has been read and expanded: the pure half of
 * BuildKit's processDollar. Messages are BuildKit's.
 */
import { LexFailure } from './errors.ts';
import { trimPrefix, trimSuffix } from './glob-pattern.ts';

export interface ParamState {
  name: string;
  value: string;
  set: boolean;
}

/**
 * `op` is the operator character after the optional colon (`-`, `+`, `?`, `#`, `%`, or anything
 * else, which is unsupported); `spelled` is the operator as written (`:-`, `#`, ...) for messages.
 */
export function applyOperator(param: ParamState, op: string, spelled: string, colon: boolean, word: string): string {
  const { name, value, set } = param;
  const missing = !set || (colon && value === '');
  switch (op) {
    case '-':
      return missing ? word : value;
    case '+':
      return missing ? '' : word;
    case '?':
      if (!set) throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
      if (colon && value === '') throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
      return value;
    case '#':
    case '%': {
      // A doubled operator (## or %%) asks for the longest match; the second one arrives as
      // the first character of the already-read word.
      const greedy = word.startsWith(op);
      const pattern = greedy ? word.slice(1) : word;
      return op === '%' ? trimSuffix(pattern, value, greedy) : trimPrefix(pattern, value, greedy);
    }
    default:
      throw unsupportedModifier(spelled);
  }
}

export function unsupportedModifier(spelled: string): LexFailure {
  return new LexFailure(`unsupported modifier (${spelled}) in substitution`);
}
