/** HEALTHCHECK NONE | HEALTHCHECK [--interval= --timeout= --start-period= --start-interval= --retries=] CMD ... */
import { InstructionSyntaxError } from './errors.ts';
import { formatGoDuration, parseGoDuration } from './duration.ts';
import { parseFlags } from './flags.ts';
import type { ParsedFlags } from './flags.ts';
import { atLeastOneArgument, commandLineArgs } from './request.ts';
import type { ParseRequest } from './request.ts';
import type { HealthcheckInstruction } from './types.ts';

/** Docker's container.MinimumDuration. */
const MINIMUM_DURATION_NANOS = 1_000_000;

export function parseHealthcheck(req: ParseRequest): HealthcheckInstruction {
  if (req.args.length === 0) throw atLeastOneArgument('HEALTHCHECK');
  const base = { kind: 'HEALTHCHECK' as const, location: req.location, original: req.original };
  const type = req.args[0].toUpperCase();
  const rest = req.args.slice(1);
  const empty = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  if (type === 'NONE') {
    // BuildKit does not look at flags on NONE.
    if (rest.length !== 0) throw new InstructionSyntaxError('HEALTHCHECK NONE takes no arguments');
    return { ...base, health: { test: ['NONE'], ...empty } };
  }
  const flags = parseFlags(req.flags, {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  });
  if (type !== 'CMD') throw new InstructionSyntaxError(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  const command = commandLineArgs(rest, req.json);
  if (command.length === 0) throw new InstructionSyntaxError('Missing command after HEALTHCHECK CMD');
  return {
    ...base,
    health: {
      test: [req.json ? 'CMD' : 'CMD-SHELL', ...command],
      interval: interval(flags, 'interval'),
      timeout: interval(flags, 'timeout'),
      startPeriod: interval(flags, 'start-period'),
      startInterval: interval(flags, 'start-interval'),
      retries: retries(flags.string('retries')),
    },
  };
}

function interval(flags: ParsedFlags, name: string): number {
  const value = flags.string(name);
  if (value === undefined || value === '') return 0;
  const nanos = parseGoDuration(value);
  if (nanos === 0) return 0;
  if (nanos < MINIMUM_DURATION_NANOS) {
    throw new InstructionSyntaxError(`Interval ${JSON.stringify(name)} cannot be less than ${formatGoDuration(MINIMUM_DURATION_NANOS)}`);
  }
  return nanos;
}

function retries(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  if (!/^[+-]?\d+$/.test(value)) throw new InstructionSyntaxError(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  const parsed = Number(value);
  if (parsed > 2 ** 31 - 1 || parsed < -(2 ** 31)) {
    throw new InstructionSyntaxError(`strconv.ParseInt: parsing ${JSON.stringify(value)}: value out of range`);
  }
  if (parsed < 0) throw new InstructionSyntaxError(`--retries cannot be negative (${parsed})`);
  return parsed;
}
