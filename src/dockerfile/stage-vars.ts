/**
 * The variables a stage's instructions see, as BuildKit's dispatch keeps them in the LLB state's env:
 * the base image's Env, then ENV and ARG in order (later wins). ARG values never reach the image
 * config, but RUN sees them and its history lists them (`|2 A=1 B=2 /bin/sh -c ...`).
 */
import { located } from './instructions/index.ts';
import type { ArgInstruction, EnvInstruction } from './instructions/index.ts';
import { processWord } from './shell/index.ts';

export interface DeclaredArg {
  key: string;
  /** Undefined for `ARG name` with no build arg, default or global value. */
  value?: string;
}

export interface StageVars {
  /** The expansion environment. */
  readonly env: ReadonlyMap<string, string>;
  /** ARGs declared so far in the stage (base stages' included), in order. */
  readonly args: readonly DeclaredArg[];
}

export interface ArgContext {
  buildArgs: ReadonlyMap<string, string>;
  /** Predefined args and meta ARG values (StageGraph.globalArgs). */
  globalArgs: ReadonlyMap<string, string>;
  escapeToken?: '\\' | '`';
}

/**
 * Variables at the start of a stage built FROM an image: its `KEY=value` Env entries. A stage built
 * FROM another stage starts from that stage's final StageVars instead (BuildKit copies the state,
 * ARG values and declarations included).
 */
export function initialStageVars(imageEnv: readonly string[]): StageVars {
  const env = new Map<string, string>();
  for (const entry of imageEnv) {
    const eq = entry.indexOf('=');
    if (eq < 0) env.set(entry, '');
    else env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return { env, args: [] };
}

/** After an ENV whose pairs were already expanded (expandInstruction). */
export function applyEnv(vars: StageVars, inst: EnvInstruction): StageVars {
  const env = new Map(vars.env);
  for (const pair of inst.pairs) env.set(pair.key, pair.value);
  return { env, args: vars.args };
}

/**
 * BuildKit's dispatchArg, one name at a time: a build arg wins; else the default, expanded against the
 * variables so far (only then can `${X:?}` fail); a bare `ARG name` takes the meta ARG / predefined
 * value. Returns the new variables and the resolved declarations (for history and RUN).
 */
export function declareArgs(vars: StageVars, inst: ArgInstruction, context: ArgContext): StageVars {
  const env = new Map(vars.env);
  const args = [...vars.args];
  for (const arg of inst.args) {
    let value = context.buildArgs.get(arg.key);
    if (value === undefined) {
      if (arg.defaultValue !== undefined) {
        const text = arg.defaultValue;
        value = located(inst.location, () => processWord(text, env, { escapeToken: context.escapeToken ?? '\\' }));
      } else {
        value = context.globalArgs.get(arg.key);
      }
    }
    if (value !== undefined) env.set(arg.key, value);
    args.push({ key: arg.key, ...(value === undefined ? {} : { value }) });
  }
  return { env, args };
}

/** BuildKit's RUN history prefix: `|<n> K=V ...` for the declared args, values from the current env. */
export function runArgsPrefix(vars: StageVars): string[] {
  const entries = new Map<string, string>();
  for (const arg of vars.args) entries.set(arg.key, `${arg.key}=${vars.env.get(arg.key) ?? arg.value ?? ''}`);
  if (entries.size === 0) return [];
  return [`|${entries.size}`, ...entries.values()];
}

/** What BuildKit adds to an image config Env lacking PATH (Linux). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The base image's Env with PATH ensured, as BuildKit does before a stage's first instruction. */
export function withDefaultPath(imageEnv: readonly string[]): string[] {
  return imageEnv.some((entry) => entry.startsWith('PATH=') || entry === 'PATH') ? [...imageEnv] : [...imageEnv, `PATH=${DEFAULT_PATH}`];
}
