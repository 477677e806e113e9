/** What every instruction parser receives (BuildKit's parseRequest), and small shared helpers. */
import type { Heredoc, InstructionNode } from '../ast.ts';
import { InstructionSyntaxError } from './errors.ts';
import type { InstructionLocation } from './types.ts';

export interface ParseRequest {
  node: InstructionNode;
  /** Upper-case instruction name, for messages. */
  command: string;
  args: readonly string[];
  flags: readonly string[];
  json: boolean;
  heredocs: readonly Heredoc[];
  /** Trimmed original text. */
  original: string;
  location: InstructionLocation;
}

export function requestFromNode(node: InstructionNode, file: string): ParseRequest {
  const original = node.original.trim();
  return {
    node,
    command: node.name.toUpperCase(),
    args: node.args,
    flags: node.flags,
    json: node.json,
    heredocs: node.heredocs,
    original,
    location: { file, line: node.startLine, endLine: node.endLine, text: original },
  };
}

export function atLeastOneArgument(command: string): InstructionSyntaxError {
  return new InstructionSyntaxError(`${command} requires at least one argument`);
}

export function exactlyOneArgument(command: string): InstructionSyntaxError {
  return new InstructionSyntaxError(`${command} requires exactly one argument`);
}

export function noDestinationArgument(command: string): InstructionSyntaxError {
  return new InstructionSyntaxError(
    `${command} requires at least two arguments, but only one was provided. Destination could not be determined`,
  );
}

export function blankNames(command: string): InstructionSyntaxError {
  return new InstructionSyntaxError(`${command} names can not be blank`);
}

/** Exec form keeps the argv; shell form joins the words into one command string. */
export function commandLineArgs(args: readonly string[], json: boolean): string[] {
  if (args.length === 0) return [];
  if (json) return [...args];
  return [args.join(' ')];
}
