/** FROM [--platform=p] image [AS name] */
import { InstructionSyntaxError } from './errors.ts';
import { parseFlags } from './flags.ts';
import type { ParseRequest } from './request.ts';
import type { FromInstruction } from './types.ts';

/** BuildKit's validStageName, applied to the lower-cased name. */
export const STAGE_NAME_PATTERN = /^[a-z][a-z0-9-_.]*$/;

export function parseFrom(req: ParseRequest): FromInstruction {
  const stageName = parseStageName(req.args);
  const flags = parseFlags(req.flags, { platform: 'string' });
  const platform = flags.string('platform');
  return {
    kind: 'FROM',
    location: req.location,
    original: req.original,
    baseName: req.args[0],
    ...(stageName === undefined ? {} : { stageName }),
    ...(platform === undefined || platform === '' ? {} : { platform }),
  };
}

function parseStageName(args: readonly string[]): string | undefined {
  if (args.length === 3 && args[1].toLowerCase() === 'as') {
    const name = args[2].toLowerCase();
    if (!STAGE_NAME_PATTERN.test(name)) {
      throw new InstructionSyntaxError(
        `invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`,
      );
    }
    return name;
  }
  if (args.length !== 1) throw new InstructionSyntaxError('FROM requires either one or three arguments');
  return undefined;
}
