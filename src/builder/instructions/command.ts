/** CMD, ENTRYPOINT and HEALTHCHECK (BuildKit's dispatchCmd, dispatchEntrypoint, dispatchHealthcheck). */
import { goQuote } from '../../dockerfile/parser/go-text.ts';
import type { CmdInstruction, EntrypointInstruction, HealthcheckInstruction } from '../../dockerfile/instructions/index.ts';
import type { ConfigFile, HealthConfig } from '../../image/types.ts';
import { commitHistory, goDuration, goQuoteList, goQuoteRune } from '../history.ts';
import type { StageState } from '../state.ts';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** Shell form → the image's SHELL (or /bin/sh -c) plus the command line as one argument. */
export function withShell(config: ConfigFile, args: readonly string[]): string[] {
  const shell = config.config.Shell?.length ? config.config.Shell : DEFAULT_SHELL;
  return [...shell, args.join(' ')];
}

export function dispatchCmd(state: StageState, inst: CmdInstruction): void {
  const args = inst.prependShell ? withShell(state.config, inst.command) : [...inst.command];
  state.config = { ...state.config, config: { ...state.config.config, Cmd: args, ArgsEscaped: true } };
  state.cmdSet = true;
  commitHistory(state, `CMD ${goQuoteList(args)}`, { layer: false });
}

export function dispatchEntrypoint(state: StageState, inst: EntrypointInstruction): void {
  const args = inst.prependShell ? withShell(state.config, inst.command) : [...inst.command];
  const config = { ...state.config.config, Entrypoint: args };
  if (!state.cmdSet) config.Cmd = null;
  state.config = { ...state.config, config };
  commitHistory(state, `ENTRYPOINT ${goQuoteList(args)}`, { layer: false });
}

export function dispatchHealthcheck(state: StageState, inst: HealthcheckInstruction): void {
  const h = inst.health;
  const health: HealthConfig = { Test: [...h.test] };
  if (h.interval) health.Interval = h.interval;
  if (h.timeout) health.Timeout = h.timeout;
  if (h.startPeriod) health.StartPeriod = h.startPeriod;
  if (h.startInterval) health.StartInterval = h.startInterval;
  if (h.retries) health.Retries = h.retries;
  state.config = { ...state.config, config: { ...state.config.config, Healthcheck: health } };
  // Go's "%+v" of a *HealthcheckConfig whose durations print as strings: BuildKit's exact text.
  const durations = [h.interval, h.timeout, h.startPeriod, h.startInterval].map((d) => goQuote(goDuration(d)));
  commitHistory(state, `HEALTHCHECK &{${goQuoteList(h.test)} ${durations.join(' ')} ${goQuoteRune(h.retries)}}`, { layer: false });
}
