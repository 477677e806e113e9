/** Parser nodes → typed instructions (BuildKit's instructions.ParseInstruction). */
import type { InstructionNode } from '../ast.ts';
import { parseCmd, parseEntrypoint, parseRun, parseShell } from './command-line.ts';
import { parseAdd, parseCopy } from './copy-add.ts';
import { InstructionSyntaxError, instructionError } from './errors.ts';
import { parseFrom } from './from.ts';
import { parseHealthcheck } from './healthcheck.ts';
import { parseEnv, parseLabel } from './key-value.ts';
import {
  parseArg,
  parseExpose,
  parseMaintainer,
  parseStopsignal,
  parseUser,
  parseVolume,
  parseWorkdir,
} from './metadata.ts';
import { parseOnbuild } from './onbuild.ts';
import { requestFromNode } from './request.ts';
import type { ParseRequest } from './request.ts';
import { withSuggestion } from './suggest.ts';
import type { Instruction } from './types.ts';

const PARSERS: Readonly<Record<string, (req: ParseRequest, file: string) => Instruction>> = {
  from: parseFrom,
  run: parseRun,
  cmd: parseCmd,
  label: parseLabel,
  maintainer: parseMaintainer,
  expose: parseExpose,
  env: parseEnv,
  add: parseAdd,
  copy: parseCopy,
  entrypoint: parseEntrypoint,
  volume: parseVolume,
  user: parseUser,
  workdir: parseWorkdir,
  arg: parseArg,
  onbuild: (req, file) => parseOnbuild(req, (sub) => parseInstruction(sub, file)),
  stopsignal: parseStopsignal,
  healthcheck: parseHealthcheck,
  shell: parseShell,
};

/** Parses one node; throws KilnError (code DOCKERFILE_INSTRUCTION) located at the node. */
export function parseInstruction(node: InstructionNode, file: string): Instruction {
  const req = requestFromNode(node, file);
  const parser = PARSERS[node.name.toLowerCase()];
  if (parser === undefined) {
    const names = Object.keys(PARSERS).map((name) => name.toUpperCase());
    const written = node.original.trim().split(/\s+/, 1)[0] || node.name;
    throw instructionError(req.location, withSuggestion(`unknown instruction: ${written}`, written, names, false));
  }
  try {
    return parser(req, file);
  } catch (err) {
    if (err instanceof InstructionSyntaxError) throw instructionError(req.location, err.message);
    throw err;
  }
}
