/**
 * A small parser with the conventions of Go's pflag, which kaniko's flags follow and commander does not:
 * `--no-push` is a flag of its own (not the negation of `--push`), booleans take `--flag=false` but never a
 * separate value, `-cDIR` / `-c=DIR` / `-c DIR` all work, repeatable flags keep every occurrence.
 */
import { closestMatch } from '../dockerfile/instructions/suggest.ts';
import { KilnError } from '../errors.ts';
import { FLAGS, flagIndex } from './kaniko-flags.ts';
import type { FlagSpec } from './kaniko-flags.ts';

export type FlagValue = string | boolean | number | string[];

export interface ParsedFlag {
  spec: FlagSpec;
  value: FlagValue;
  /** Where the value came from. */
  source: 'argv' | 'env' | 'default';
  /** How the user spelled it: "--tarPath", "-d", or "KANIKO_NO_PUSH" for environment values. */
  spelling: string;
}

export interface ParsedArgv {
  flags: Map<string, ParsedFlag>;
  operands: string[];
  help: boolean;
  /** "Flag --tarPath is deprecated. Use: --tar-path", once per deprecated spelling used. */
  deprecations: string[];
}

export function usageError(message: string, hint?: string): KilnError {
  return new KilnError('INVALID_FLAG', message, { exitCode: 2, hint });
}

/** Go's strconv.ParseBool. */
export function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** Go's strconv.ParseInt(s, 0, 64) for the forms people write: decimal, 0x, 0o, 0b, underscores. */
export function parseGoInt(text: string): number | undefined {
  const m = /^([+-]?)(0x[0-9a-f_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*)$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[2].replaceAll('_', ''));
  if (!Number.isSafeInteger(n)) return undefined;
  return m[1] === '-' ? -n : n;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000,
};

/** Go's time.ParseDuration ("336h0m0s", "1h30m", "1.5s", "0"), in milliseconds. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0' || text === '+0' || text === '-0') return 0;
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (!m) return undefined;
  let total = 0;
  for (const part of m[2].matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * DURATION_UNITS[part[2]];
  }
  return m[1] === '-' ? -total : total;
}

function convert(spec: FlagSpec, raw: string, spelling: string): string | boolean | number {
  switch (spec.type) {
    case 'bool': {
      const b = parseGoBool(raw);
      if (b === undefined) throw usageError(`invalid value "${raw}" for ${spelling}: expected true or false`);
      return b;
    }
    case 'int': {
      const n = parseGoInt(raw);
      if (n === undefined) throw usageError(`invalid value "${raw}" for ${spelling}: expected an integer`);
      return n;
    }
    case 'duration': {
      const ms = parseGoDuration(raw);
      if (ms === undefined) throw usageError(`invalid value "${raw}" for ${spelling}: expected a duration such as 6h or 90m`);
      return raw;
    }
    default:
      return raw;
  }
}

function defaultValue(spec: FlagSpec): FlagValue {
  if (spec.type === 'repeatable') return [];
  return spec.default ?? '';
}

export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv, table: readonly FlagSpec[] = FLAGS): ParsedArgv {
  const index = flagIndex(table);
  const flags = new Map<string, ParsedFlag>();
  const operands: string[] = [];
  const deprecations = new Set<string>();
  let help = false;

  const set = (spec: FlagSpec, raw: string, spelling: string): void => {
    const value = convert(spec, raw, spelling);
    const prev = flags.get(spec.name);
    if (spec.type === 'repeatable') {
      const list = prev && Array.isArray(prev.value) ? prev.value : [];
      flags.set(spec.name, { spec, value: [...list, String(value)], source: 'argv', spelling });
    } else {
      flags.set(spec.name, { spec, value, source: 'argv', spelling });
    }
  };
  const noteDeprecated = (spec: FlagSpec, name: string): void => {
    if (spec.aliases?.some((a) => a.name === name && a.deprecated)) {
      deprecations.add(`Flag --${name} is deprecated. Use: --${spec.name}`);
    }
  };
  const looksLikeFlag = (arg: string | undefined): boolean =>
    arg !== undefined && arg.startsWith('--') && index.long.has(arg.slice(2).split('=')[0]);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = index.long.get(name);
      if (!spec) throw unknownFlag(`--${name}`, table);
      noteDeprecated(spec, name);
      const spelling = `--${name}`;
      if (eq >= 0) set(spec, arg.slice(eq + 1), spelling);
      else if (spec.type === 'bool') set(spec, 'true', spelling);
      else if (i + 1 < argv.length && !looksLikeFlag(argv[i + 1])) set(spec, argv[++i], spelling);
      else throw usageError(`flag needs an argument: ${spelling}`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      const letter = arg[1];
      const spec = index.short.get(letter);
      if (!spec) throw unknownFlag(`-${letter}`, table);
      const spelling = `-${letter} (--${spec.name})`;
      let rest = arg.slice(2);
      if (rest.startsWith('=')) rest = rest.slice(1);
      if (spec.type === 'bool') set(spec, rest === '' ? 'true' : rest, spelling);
      else if (rest !== '' || arg.startsWith(`-${letter}=`)) set(spec, rest, spelling);
      else if (i + 1 < argv.length && !looksLikeFlag(argv[i + 1])) set(spec, argv[++i], spelling);
      else throw usageError(`flag needs an argument: ${spelling}`);
      continue;
    }
    operands.push(arg);
  }

  for (const spec of table) {
    if (flags.has(spec.name) && spec.type !== 'repeatable') continue;
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    if (fromEnv !== undefined && spec.env !== undefined) {
      // kaniko appends the variable to repeatable flags even when the flag is given; a scalar flag given
      // on the command line wins over its variable.
      const prev = flags.get(spec.name);
      const list = prev && Array.isArray(prev.value) ? prev.value : [];
      const value = spec.type === 'repeatable' ? [...list, fromEnv] : convert(spec, fromEnv, spec.env);
      flags.set(spec.name, { spec, value, source: prev?.source ?? 'env', spelling: prev?.spelling ?? spec.env });
    } else if (!flags.has(spec.name)) {
      flags.set(spec.name, { spec, value: defaultValue(spec), source: 'default', spelling: `--${spec.name}` });
    }
  }
  return { flags, operands, help, deprecations: [...deprecations] };
}

function unknownFlag(spelling: string, table: readonly FlagSpec[]): KilnError {
  const bare = spelling.replace(/^-+/, '').toLowerCase();
  const close = table.find((f) => f.name.replaceAll('-', '') === bare.replaceAll('-', '') || f.name.startsWith(bare)) ??
    table.find((f) => f.name === closestMatch(bare, table.map((t) => t.name), false));
  return usageError(`unknown flag: ${spelling}`, close ? `did you mean --${close.name}? See kiln build --help` : 'see kiln build --help');
}
