/** ONBUILD <instruction>: stored as text in the image config, run when the image is used as a base. */
import type { InstructionNode } from '../ast.ts';
import { InstructionSyntaxError } from './errors.ts';
import { parseFlags } from './flags.ts';
import { atLeastOneArgument } from './request.ts';
import type { ParseRequest } from './request.ts';
import type { Instruction, OnbuildInstruction } from './types.ts';

export function parseOnbuild(req: ParseRequest, parseTrigger: (node: InstructionNode) => Instruction): OnbuildInstruction {
  const sub = req.node.sub;
  const triggerName = (sub?.name ?? req.args[0] ?? '').trim().toUpperCase();
  if (triggerName === '') throw atLeastOneArgument('ONBUILD');
  parseFlags(req.flags, {});
  if (triggerName === 'ONBUILD') throw new InstructionSyntaxError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (triggerName === 'MAINTAINER' || triggerName === 'FROM') {
    throw new InstructionSyntaxError(`${triggerName} isn't allowed as an ONBUILD trigger`);
  }
  let expression = req.node.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const heredoc of req.heredocs) expression += `\n${heredoc.content}${heredoc.name}`;
  let trigger: Instruction | undefined;
  let triggerError: string | undefined;
  if (sub !== undefined) {
    try {
      // The parser hangs heredoc bodies on the ONBUILD node, not on the trigger inside it.
      trigger = parseTrigger(sub.heredocs.length > 0 ? sub : { ...sub, heredocs: req.node.heredocs });
    } catch (err) {
      // BuildKit parses a trigger only when it fires; a broken one fails that later build.
      triggerError = err instanceof Error ? err.message : String(err);
    }
  }
  return {
    kind: 'ONBUILD',
    location: req.location,
    original: req.original,
    expression,
    ...(trigger === undefined ? {} : { trigger }),
    ...(triggerError === undefined ? {} : { triggerError }),
  };
}
