/** RUN, CMD, ENTRYPOINT and SHELL: exec form (JSON) vs shell form, heredocs attached. */
import { goQuote } from '../shell/errors.ts';
import { InstructionSyntaxError } from './errors.ts';
import { parseFlags } from './flags.ts';
import { mountFromBeforeExpansion } from './mount.ts';
import { atLeastOneArgument, commandLineArgs } from './request.ts';
import type { ParseRequest } from './request.ts';
import type {
  CmdInstruction,
  EntrypointInstruction,
  InlineFile,
  NetworkMode,
  RunInstruction,
  SecurityMode,
  ShellInstruction,
} from './types.ts';

const NETWORK_MODES: readonly NetworkMode[] = ['default', 'none', 'host'];
const SECURITY_MODES: readonly SecurityMode[] = ['sandbox', 'insecure'];

export function parseRun(req: ParseRequest): RunInstruction {
  const flags = parseFlags(req.flags, { mount: 'strings', network: 'string', security: 'string' });
  const mountSpecs = flags.strings('mount');
  const mountFroms = mountSpecs.map((spec) => mountFromBeforeExpansion(spec));
  const network = flags.string('network') ?? 'default';
  if (!(NETWORK_MODES as readonly string[]).includes(network)) {
    throw new InstructionSyntaxError(`invalid network mode ${goQuote(network)}`);
  }
  const security = flags.string('security') ?? 'sandbox';
  if (!(SECURITY_MODES as readonly string[]).includes(security)) {
    throw new InstructionSyntaxError(`security ${goQuote(security)} is not valid`);
  }
  return {
    kind: 'RUN',
    location: req.location,
    original: req.original,
    command: commandLineArgs(req.args, req.json),
    prependShell: !req.json,
    heredocs: inlineFiles(req),
    mountSpecs,
    mountFroms,
    mounts: mountSpecs.length === 0 ? [] : null,
    network: network as NetworkMode,
    security: security as SecurityMode,
    flagsUsed: [...flags.used],
  };
}

export function parseCmd(req: ParseRequest): CmdInstruction {
  parseFlags(req.flags, {});
  return {
    kind: 'CMD',
    location: req.location,
    original: req.original,
    command: commandLineArgs(req.args, req.json),
    prependShell: !req.json,
    heredocs: inlineFiles(req),
  };
}

export function parseEntrypoint(req: ParseRequest): EntrypointInstruction {
  parseFlags(req.flags, {});
  return {
    kind: 'ENTRYPOINT',
    location: req.location,
    original: req.original,
    command: commandLineArgs(req.args, req.json),
    prependShell: !req.json,
    heredocs: inlineFiles(req),
  };
}

export function parseShell(req: ParseRequest): ShellInstruction {
  parseFlags(req.flags, {});
  const shell = commandLineArgs(req.args, req.json);
  if (shell.length === 0) throw atLeastOneArgument('SHELL');
  if (!req.json) throw new InstructionSyntaxError('SHELL requires the arguments to be in JSON form');
  return { kind: 'SHELL', location: req.location, original: req.original, shell };
}

function inlineFiles(req: ParseRequest): InlineFile[] {
  return req.heredocs.map((heredoc) => ({
    name: heredoc.name,
    data: heredoc.content,
    chomp: heredoc.chomp,
    expand: heredoc.expand,
  }));
}
