/** The one-value metadata instructions: MAINTAINER, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, ARG. */
import { InstructionSyntaxError } from './errors.ts';
import { parseFlags } from './flags.ts';
import { atLeastOneArgument, blankNames, exactlyOneArgument } from './request.ts';
import type { ParseRequest } from './request.ts';
import type {
  ArgDeclaration,
  ArgInstruction,
  ExposeInstruction,
  MaintainerInstruction,
  StopsignalInstruction,
  UserInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from './types.ts';

export function parseMaintainer(req: ParseRequest): MaintainerInstruction {
  if (req.args.length !== 1) throw exactlyOneArgument('MAINTAINER');
  parseFlags(req.flags, {});
  return { kind: 'MAINTAINER', location: req.location, original: req.original, maintainer: req.args[0] };
}

export function parseExpose(req: ParseRequest): ExposeInstruction {
  if (req.args.length === 0) throw atLeastOneArgument('EXPOSE');
  parseFlags(req.flags, {});
  const ports = [...req.args].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { kind: 'EXPOSE', location: req.location, original: req.original, ports };
}

export function parseVolume(req: ParseRequest): VolumeInstruction {
  if (req.args.length === 0) throw atLeastOneArgument('VOLUME');
  parseFlags(req.flags, {});
  const volumes = req.args.map((volume) => {
    const trimmed = volume.trim();
    if (trimmed === '') throw new InstructionSyntaxError('VOLUME specified can not be an empty string');
    return trimmed;
  });
  return { kind: 'VOLUME', location: req.location, original: req.original, volumes };
}

export function parseUser(req: ParseRequest): UserInstruction {
  if (req.args.length !== 1) throw exactlyOneArgument('USER');
  parseFlags(req.flags, {});
  return { kind: 'USER', location: req.location, original: req.original, user: req.args[0] };
}

export function parseWorkdir(req: ParseRequest): WorkdirInstruction {
  if (req.args.length !== 1) throw exactlyOneArgument('WORKDIR');
  parseFlags(req.flags, {});
  return { kind: 'WORKDIR', location: req.location, original: req.original, path: req.args[0] };
}

/** BuildKit reads no flags for STOPSIGNAL: the parser's flags are silently ignored. */
export function parseStopsignal(req: ParseRequest): StopsignalInstruction {
  if (req.args.length !== 1) throw exactlyOneArgument('STOPSIGNAL');
  return { kind: 'STOPSIGNAL', location: req.location, original: req.original, signal: req.args[0] };
}

/** `ARG a b=1 "c=2 3"`: each word is `name` or `name=default`; flags are ignored as by BuildKit. */
export function parseArg(req: ParseRequest): ArgInstruction {
  if (req.args.length < 1) throw atLeastOneArgument('ARG');
  const args: ArgDeclaration[] = req.args.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) return { key: word };
    if (eq === 0) throw blankNames('ARG');
    return { key: word.slice(0, eq), defaultValue: word.slice(eq + 1) };
  });
  return { kind: 'ARG', location: req.location, original: req.original, args };
}
