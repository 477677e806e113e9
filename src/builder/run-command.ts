/**
 * What a RUN executes and records, as BuildKit's dispatchRun computes it: heredoc handling (a lone heredoc
 * with a `#!` line becomes a script file run directly; a lone heredoc without one is the shell command; any
 * other heredoc use is handed to the shell whole), SHELL prepended for the shell form, the environment,
 * and the history line with its `|N K=V` prefix of declared ARGs.
 */
import { chompHeredocContent, parseHeredocMarker } from '../dockerfile/heredoc.ts';
import type { RunInstruction } from '../dockerfile/instructions/index.ts';
import { runArgsPrefix, type StageVars } from '../dockerfile/stage-vars.ts';
import type { ConfigFile } from '../image/types.ts';
import { withShell } from './instructions/command.ts';

/** Where BuildKit mounts a heredoc script (read-only) for the step. */
export const HEREDOC_SCRIPT_DIR = '/dev/pipes';

export interface PreparedRun {
  argv: string[];
  /** A heredoc script to make available read-only at HEREDOC_SCRIPT_DIR/name, mode 0755. */
  script?: { name: string; data: string };
}

function loneHeredoc(inst: RunInstruction): boolean {
  if (inst.command.length !== 1 || !inst.prependShell || inst.heredocs.length === 0) return false;
  try {
    return parseHeredocMarker(inst.command[0]) !== undefined;
  } catch {
    return false;
  }
}

export function prepareRun(inst: RunInstruction, config: ConfigFile): PreparedRun {
  let args = [...inst.command];
  let script: PreparedRun['script'];
  if (inst.heredocs.length > 0) {
    if (loneHeredoc(inst)) {
      const file = inst.heredocs[0];
      const data = file.chomp ? chompHeredocContent(file.data) : file.data;
      if (data.startsWith('#!')) {
        script = { name: file.name, data };
        args = [`${HEREDOC_SCRIPT_DIR}/${file.name}`];
      } else {
        args = [data];
      }
    } else {
      args = [args[0] + inst.heredocs.map((f) => `\n${f.data}${f.name}`).join('')];
    }
  }
  const argv = inst.prependShell ? withShell(config, args) : args;
  return script ? { argv, script } : { argv };
}

/** `RUN |2 A=1 B=2 /bin/sh -c echo hi` (the " # buildkit" suffix is added by historyEntry). */
export function runCreatedBy(argv: readonly string[], vars: StageVars): string {
  return `RUN ${[...runArgsPrefix(vars), ...argv].join(' ')}`;
}

/** The step's environment: the stage's variables (image ENV, ENV, ARG values) plus proxy build args. */
export function runEnvironment(vars: StageVars, proxies: ReadonlyMap<string, string>): string[] {
  const env = new Map(vars.env);
  for (const [key, value] of proxies) if (!env.has(key)) env.set(key, value);
  return [...env].map(([key, value]) => `${key}=${value}`);
}
