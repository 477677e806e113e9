/**
 * The instructions that only change the image config (BuildKit's dispatchEnv, dispatchLabel, dispatchUser,
 * dispatchVolume, dispatchStopSignal, dispatchShell, dispatchMaintainer, dispatchOnbuild, dispatchExpose).
 */
import { checkStopSignal, exposedPortKeys, located } from '../../dockerfile/instructions/index.ts';
import { applyEnv } from '../../dockerfile/stage-vars.ts';
import type {
  EnvInstruction, ExposeInstruction, LabelInstruction, MaintainerInstruction, OnbuildInstruction, ShellInstruction,
  StopsignalInstruction, UserInstruction, VolumeInstruction,
} from '../../dockerfile/instructions/index.ts';
import { KilnError } from '../../errors.ts';
import type { ContainerConfig } from '../../image/types.ts';
import { goList, historyEntry } from '../history.ts';
import { setEnvEntry, type StageState } from '../state.ts';
import type { StepResult } from '../step-result.ts';

/** A config-only step: the container config with `change` applied, and its history line. */
function configStep(state: StageState, change: Partial<ContainerConfig>, createdBy: string): StepResult {
  return { config: { ...state.config.config, ...change }, history: historyEntry(createdBy, { layer: false }) };
}

export function dispatchEnv(state: StageState, inst: EnvInstruction): StepResult {
  let env = state.config.config.Env ?? [];
  for (const { key, value } of inst.pairs) env = setEnvEntry(env, key, value);
  return { ...configStep(state, { Env: env }, `ENV ${inst.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`), vars: applyEnv(state.vars, inst) };
}

export function dispatchLabel(state: StageState, inst: LabelInstruction): StepResult {
  const labels = { ...(state.config.config.Labels ?? {}) };
  for (const { key, value } of inst.pairs) labels[key] = value;
  return configStep(state, { Labels: labels }, `LABEL ${inst.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`);
}

export function dispatchUser(state: StageState, inst: UserInstruction): StepResult {
  return configStep(state, { User: inst.user }, `USER ${inst.user}`);
}

export function dispatchVolume(state: StageState, inst: VolumeInstruction): StepResult {
  const volumes = { ...(state.config.config.Volumes ?? {}) };
  for (const v of inst.volumes) {
    if (v === '') throw new KilnError('DOCKERFILE_INSTRUCTION', 'VOLUME specified can not be an empty string', { location: inst.location });
    volumes[v] = {};
  }
  return configStep(state, { Volumes: volumes }, `VOLUME ${goList(inst.volumes)}`);
}

export function dispatchStopsignal(state: StageState, inst: StopsignalInstruction): StepResult {
  located(inst.location, () => checkStopSignal(inst.signal));
  return configStep(state, { StopSignal: inst.signal }, `STOPSIGNAL ${inst.signal}`);
}

export function dispatchShell(state: StageState, inst: ShellInstruction): StepResult {
  return configStep(state, { Shell: [...inst.shell] }, `SHELL ${goList(inst.shell)}`);
}

export function dispatchMaintainer(_state: StageState, inst: MaintainerInstruction): StepResult {
  return { author: inst.maintainer, history: historyEntry(`MAINTAINER ${inst.maintainer}`, { layer: false }) };
}

/** ONBUILD only records the trigger; BuildKit writes no history entry for it. */
export function dispatchOnbuild(state: StageState, inst: OnbuildInstruction): StepResult {
  return { config: { ...state.config.config, OnBuild: [...(state.config.config.OnBuild ?? []), inst.expression] } };
}

export function dispatchExpose(state: StageState, inst: ExposeInstruction): StepResult {
  const keys = located(inst.location, () => exposedPortKeys(inst.ports));
  const ports = { ...(state.config.config.ExposedPorts ?? {}) };
  for (const key of keys) ports[key] = {};
  // BuildKit prints a Go struct pointer here ("EXPOSE &{[...] 0xc...}"), which no one can reproduce;
  // the port list is what a reader of the history wants.
  return configStep(state, { ExposedPorts: ports }, `EXPOSE ${keys.join(' ')}`);
}
