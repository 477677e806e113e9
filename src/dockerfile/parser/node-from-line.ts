/**
 * One logical instruction line → one InstructionNode (lines and heredocs are filled in by the caller), through
 * BuildKit's dispatch table of argument readers.
 */
import type { InstructionNode } from '../ast.ts';
import {
  type LineArgs,
  parseEnv,
  parseHealthConfig,
  parseIgnore,
  parseLabel,
  parseMaybeJSON,
  parseMaybeJSONToList,
  parseNameOrNameVal,
  parseString,
  parseStringsWhitespaceDelimited,
} from './line-parsers.ts';
import { splitCommand } from './split-command.ts';

type LineParser = (rest: string, escapeToken: string) => LineArgs;

const dispatch: Readonly<Record<string, LineParser>> = {
  add: parseMaybeJSONToList,
  arg: parseNameOrNameVal,
  cmd: parseMaybeJSON,
  copy: parseMaybeJSONToList,
  entrypoint: parseMaybeJSON,
  env: parseEnv,
  expose: parseStringsWhitespaceDelimited,
  from: parseStringsWhitespaceDelimited,
  healthcheck: parseHealthConfig,
  label: parseLabel,
  maintainer: parseString,
  run: parseMaybeJSON,
  shell: parseMaybeJSON,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJSONToList,
  workdir: parseString,
};

/** Every instruction name BuildKit knows (ONBUILD is handled apart: it nests an instruction). */
export const knownInstructions: ReadonlySet<string> = new Set([...Object.keys(dispatch), 'onbuild']);

/** Throws a plain Error with BuildKit's message for malformed arguments; the caller adds the location. */
export function newNodeFromLine(line: string, escapeToken: string, prevComment: string[]): InstructionNode {
  const { name: written, flags, rest } = splitCommand(line);
  const name = written.toLowerCase();
  const node: InstructionNode = {
    name,
    args: [],
    json: false,
    flags,
    original: line,
    heredocs: [],
    startLine: 0,
    endLine: 0,
    prevComment,
  };
  if (name === 'onbuild') {
    // ONBUILD RUN foo → (onbuild (run "foo")): the trigger is parsed like any line of its own.
    if (rest !== '') node.sub = newNodeFromLine(rest, escapeToken, []);
    return node;
  }
  const parser = Object.hasOwn(dispatch, name) ? dispatch[name] : parseIgnore;
  const { args, json } = parser(rest, escapeToken);
  node.args = args;
  node.json = json;
  return node;
}
