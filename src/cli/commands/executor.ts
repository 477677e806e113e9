/** `kiln executor`: `kiln build` under the kaniko executor's name, for `/kaniko/executor --context … ` pipelines. */
import type { Command } from 'commander';
import { registerBuildCommand } from './build.ts';

export function register(program: Command): void {
  registerBuildCommand(program, 'executor', 'the same as build, under the kaniko executor\'s name');
}
