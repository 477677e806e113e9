/** Running one RUN step in a root filesystem: isolation modes, mounts, user/groups, process cleanup. */
export { runStep } from './run-step.ts';
export { prepareLauncher } from './step-process.ts';
export { detectIsolation, overlayWorks } from './detect-isolation.ts';
export type {
  HostsFiles, Isolation, ResolvedIsolation, RunMountSpec, RunMountType, RunResult, RunRootfs, RunSpec,
} from './types.ts';
