/** ENV and LABEL: key/value pairs, from the parser's (key, value, separator) triples. */
import { InstructionSyntaxError } from './errors.ts';
import { parseFlags } from './flags.ts';
import { atLeastOneArgument, blankNames } from './request.ts';
import type { ParseRequest } from './request.ts';
import type { EnvInstruction, KeyValue, LabelInstruction } from './types.ts';

export function parseEnv(req: ParseRequest): EnvInstruction {
  parseFlags(req.flags, {});
  return { kind: 'ENV', location: req.location, original: req.original, pairs: keyValuePairs(req.args, 'ENV') };
}

export function parseLabel(req: ParseRequest): LabelInstruction {
  parseFlags(req.flags, {});
  return { kind: 'LABEL', location: req.location, original: req.original, pairs: keyValuePairs(req.args, 'LABEL') };
}

function keyValuePairs(args: readonly string[], command: string): KeyValue[] {
  if (args.length === 0) throw atLeastOneArgument(command);
  if (args.length % 3 !== 0) throw new InstructionSyntaxError(`Bad input to ${command}, too many arguments`);
  const pairs: KeyValue[] = [];
  for (let i = 0; i < args.length; i += 3) {
    if (args[i] === '') throw blankNames(command);
    pairs.push({ key: args[i], value: args[i + 1], noDelimiter: args[i + 2] === '' });
  }
  return pairs;
}
