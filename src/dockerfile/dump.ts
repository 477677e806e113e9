/**
 * BuildKit's `Node.Dump()` text for parsed Dockerfiles: one s-expression per instruction, e.g.
 * `(copy ["--from=build"] "a" "/b")`, `(onbuild (run "echo" "hi"))`, strings quoted as Go's %q.
 * Heredoc bodies are not part of it (BuildKit does not print them either).
 */
import type { InstructionNode, ParsedDockerfile } from './ast.ts';
import { goQuote, goTrimSpace } from './parser/go-text.ts';

/** One instruction, without the surrounding parentheses (as Node.Dump() of that node). */
export function dumpNode(node: InstructionNode): string {
  let out = node.name;
  if (node.flags.length > 0) out += ` [${node.flags.map(goQuote).join(' ')}]`;
  if (node.sub) out += ` (${dumpNode(node.sub)})`;
  for (const arg of node.args) out += ' ' + goQuote(arg);
  return goTrimSpace(out);
}

/** The whole file: one `(…)` line per instruction, each ending in a newline (the format of BuildKit's `result` files). */
export function dumpDockerfile(parsed: ParsedDockerfile): string {
  return parsed.instructions.map((node) => `(${dumpNode(node)})\n`).join('');
}
