/** CMD, ENTRYPOINT and HEALTHCHECK (BuildKit's dispatchCmd, dispatchEntrypoint, dispatchHealthcheck). */
import { goQuote } from '../../dockerfile/parser/go-text.ts';
import type { CmdInstruction, EntrypointInstruction, HealthcheckInstruction } from '../../dockerfile/instructions/index.ts';
import type { ConfigFile, HealthConfig } from '../../image/types.ts';
import { goDuration, goQuoteList, goQuoteRune, historyEntry } from '../history.ts';
import type { StageState } from '../state.ts';
import type { StepResult } from '../step-result.ts';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** Shell form → the image's SHELL (or /bin/sh -c) plus the command line as one argument. */
export function withShell(config: ConfigFile, args: readonly string[]): string[] {
  const shell = config.config.Shell?.length ? config.config.Shell : DEFAULT_SHELL;
  return [...shell, args.join(' ')];
}

export function dispatchCmd(state: StageState, inst: CmdInstruction): StepResult {
  const args = inst.prependShell ? withShell(state.config, inst.command) : [...inst.command];
  return {
    config: { ...state.config.config, Cmd: args, ArgsEscaped: true },
    cmdSet: true,
    history: historyEntry(`CMD ${goQuoteList(args)}`, { layer: false }),
  };
}

export function dispatchEntrypoint(state: StageState, inst: EntrypointInstruction): StepResult {
  const args = inst.prependShell ? withShell(state.config, inst.command) : [...inst.command];
  const config = { ...state.config.config, Entrypoint: args };
  if (!state.cmdSet) config.Cmd = null;
  return { config, history: historyEntry(`ENTRYPOINT ${goQuoteList(args)}`, { layer: false }) };
}

export function dispatchHealthcheck(state: StageState, inst: HealthcheckInstruction): StepResult {
  const h = inst.health;
  const health: HealthConfig = { Test: [...h.test] };
  if (h.interval) health.Interval = h.interval;
  if (h.timeout) health.Timeout = h.timeout;
  if (h.startPeriod) health.StartPeriod = h.startPeriod;
  if (h.startInterval) health.StartInterval = h.startInterval;
  if (h.retries) health.Retries = h.retries;
  // Go's "%+v" of a *HealthcheckConfig whose durations print as strings: BuildKit's exact text.
  const durations = [h.interval, h.timeout, h.startPeriod, h.startInterval].map((d) => goQuote(goDuration(d)));
  return {
    config: { ...state.config.config, Healthcheck: health },
    history: historyEntry(`HEALTHCHECK &{${goQuoteList(h.test)} ${durations.join(' ')} ${goQuoteRune(h.retries)}}`, { layer: false }),
  };
}
