/**
 * The instructions that only change the image config (BuildKit's dispatchEnv, dispatchLabel, dispatchUser,
 * dispatchVolume, dispatchStopSignal, dispatchShell, dispatchMaintainer, dispatchOnbuild, dispatchExpose).
 */
import { checkStopSignal, exposedPortKeys, located } from '../../dockerfile/instructions/index.ts';
import type {
  EnvInstruction, ExposeInstruction, LabelInstruction, MaintainerInstruction, OnbuildInstruction, ShellInstruction,
  StopsignalInstruction, UserInstruction, VolumeInstruction,
} from '../../dockerfile/instructions/index.ts';
import { KilnError } from '../../errors.ts';
import { commitHistory, goList } from '../history.ts';
import { ownVarsEnv, setConfigEnv, type StageState } from '../state.ts';

/** ENV and LABEL change the stage's own containers in place (see state.ts): n of them take linear time. */
export function dispatchEnv(state: StageState, inst: EnvInstruction): void {
  const vars = ownVarsEnv(state);
  for (const { key, value } of inst.pairs) {
    setConfigEnv(state, key, value);
    vars.set(key, value);
  }
  commitHistory(state, `ENV ${inst.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`, { layer: false });
}

export function dispatchLabel(state: StageState, inst: LabelInstruction): void {
  const labels = (state.config.config.Labels ??= {});
  for (const { key, value } of inst.pairs) labels[key] = value;
  commitHistory(state, `LABEL ${inst.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`, { layer: false });
}

export function dispatchUser(state: StageState, inst: UserInstruction): void {
  state.config = { ...state.config, config: { ...state.config.config, User: inst.user } };
  commitHistory(state, `USER ${inst.user}`, { layer: false });
}

export function dispatchVolume(state: StageState, inst: VolumeInstruction): void {
  const volumes = { ...(state.config.config.Volumes ?? {}) };
  for (const v of inst.volumes) {
    if (v === '') throw new KilnError('DOCKERFILE_INSTRUCTION', 'VOLUME specified can not be an empty string', { location: inst.location });
    volumes[v] = {};
  }
  state.config = { ...state.config, config: { ...state.config.config, Volumes: volumes } };
  commitHistory(state, `VOLUME ${goList(inst.volumes)}`, { layer: false });
}

export function dispatchStopsignal(state: StageState, inst: StopsignalInstruction): void {
  located(inst.location, () => checkStopSignal(inst.signal));
  state.config = { ...state.config, config: { ...state.config.config, StopSignal: inst.signal } };
  commitHistory(state, `STOPSIGNAL ${inst.signal}`, { layer: false });
}

export function dispatchShell(state: StageState, inst: ShellInstruction): void {
  state.config = { ...state.config, config: { ...state.config.config, Shell: [...inst.shell] } };
  commitHistory(state, `SHELL ${goList(inst.shell)}`, { layer: false });
}

export function dispatchMaintainer(state: StageState, inst: MaintainerInstruction): void {
  state.config = { ...state.config, author: inst.maintainer };
  commitHistory(state, `MAINTAINER ${inst.maintainer}`, { layer: false });
}

/** ONBUILD only records the trigger; BuildKit writes no history entry for it. */
export function dispatchOnbuild(state: StageState, inst: OnbuildInstruction): void {
  const onBuild = [...(state.config.config.OnBuild ?? []), inst.expression];
  state.config = { ...state.config, config: { ...state.config.config, OnBuild: onBuild } };
}

export function dispatchExpose(state: StageState, inst: ExposeInstruction): void {
  const keys = located(inst.location, () => exposedPortKeys(inst.ports));
  const ports = { ...(state.config.config.ExposedPorts ?? {}) };
  for (const key of keys) ports[key] = {};
  state.config = { ...state.config, config: { ...state.config.config, ExposedPorts: ports } };
  // BuildKit prints a Go struct pointer here ("EXPOSE &{[...] 0xc...}"), which no one can reproduce;
  // the port list is what a reader of the history wants.
  commitHistory(state, `EXPOSE ${keys.join(' ')}`, { layer: false });
}
