/**
 * Instruction flags (`--from=x`, `--link`), parsed as BuildKit's BFlags: each instruction declares
 * the flags it accepts; anything else is an error. Bool flags take no value or `=true|false`,
 * string flags need `=value`, strings flags may repeat.
 */
import { InstructionSyntaxError } from './errors.ts';
import { withSuggestion } from './suggest.ts';

export type FlagType = 'bool' | 'string' | 'strings';

export type FlagSpecs = Readonly<Record<string, FlagType>>;

export interface ParsedFlags {
  /** Flag names given, in the order first seen. */
  readonly used: readonly string[];
  isUsed(name: string): boolean;
  /** A bool flag's value (false when absent). */
  bool(name: string): boolean;
  /** A string flag's value, undefined when absent (`--chown=` gives ""). */
  string(name: string): string | undefined;
  /** Every value of a repeatable flag, in order. */
  strings(name: string): string[];
}

/** Parses `args` against `specs`; throws InstructionSyntaxError with BuildKit's message. */
export function parseFlags(args: readonly string[], specs: FlagSpecs): ParsedFlags {
  const values = new Map<string, string[]>();
  const used: string[] = [];
  for (const arg of args) {
    // POSIX: a bare `--` ends the flags.
    if (arg === '--') break;
    if (!arg.startsWith('--')) throw new InstructionSyntaxError(`arg should start with -- : ${arg}`);
    const eq = arg.indexOf('=');
    const flagName = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? '' : arg.slice(eq + 1);
    const hasValue = eq >= 0;
    const name = flagName.slice(2);
    const type = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (type === undefined) {
      throw new InstructionSyntaxError(withSuggestion(`unknown flag: ${flagName}`, name, Object.keys(specs), true));
    }
    const previous = values.get(name);
    if (previous !== undefined && type !== 'strings') {
      throw new InstructionSyntaxError(`duplicate flag specified: ${flagName}`);
    }
    if (previous === undefined) used.push(name);
    values.set(name, [...(previous ?? []), parseValue(type, flagName, value, hasValue)]);
  }
  return {
    used,
    isUsed: (name) => values.has(name),
    bool: (name) => values.get(name)?.[0] === 'true',
    string: (name) => values.get(name)?.[0],
    strings: (name) => [...(values.get(name) ?? [])],
  };
}

function parseValue(type: FlagType, flagName: string, value: string, hasValue: boolean): string {
  if (type === 'bool') {
    if (hasValue && value === '') throw new InstructionSyntaxError(`missing a value on flag: ${flagName}`);
    const lower = value.toLowerCase();
    if (lower === '' || lower === 'true') return 'true';
    if (lower === 'false') return 'false';
    throw new InstructionSyntaxError(`expecting boolean value for flag ${flagName}, not: ${value}`);
  }
  if (!hasValue) throw new InstructionSyntaxError(`missing a value on flag: ${flagName}`);
  return value;
}
