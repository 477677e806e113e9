/**
 * BuildKit's warning for a `--build-arg` that no ARG of the built stages (or the meta ARGs before the first
 * FROM) declares: a typo in a build arg otherwise goes unnoticed.
 */
import type { MetaArg, Stage } from '../dockerfile/stages.ts';

/** Args BuildKit lets through without a declaration (moby's builtinAllowedBuildArgs). */
const BUILTIN_ARGS = new Set([
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
]);

export function unusedBuildArgsWarning(buildArgs: ReadonlyMap<string, string>, metaArgs: readonly MetaArg[], built: readonly Stage[]): string | undefined {
  const declared = new Set(metaArgs.map((a) => a.key));
  for (const stage of built) {
    for (const instruction of [...stage.onbuildTriggers, ...stage.instructions]) {
      if (instruction.kind === 'ARG') for (const arg of instruction.args) declared.add(arg.key);
    }
  }
  const unused = [...buildArgs.keys()].filter((k) => !declared.has(k) && !BUILTIN_ARGS.has(k)).sort();
  return unused.length > 0 ? `One or more build-args [${unused.join(' ')}] were not consumed` : undefined;
}
