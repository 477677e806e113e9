import type { ShellEnv } from './lex.ts';

/**
 * Builds a ShellEnv from `KEY=value` entries (an image config's Env, build args); a later entry
 * for the same key wins and an entry without `=` is a set, empty variable, as BuildKit's BuildEnvs.
 */
export function envFromList(entries: Iterable<string>): ShellEnv {
  const env = new Map<string, string>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq < 0) env.set(entry, '');
    else env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}
