/** Thin wrappers over the umoci commands the base-image recipes use (umoci is an independent OCI writer). */
import { lutimesSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './run.ts';

/** Fixed timestamp given to every rootfs entry before a repack, so layers do not depend on build time. */
export const fixedTime = new Date('2024-01-01T00:00:00Z');
const fixedTimeText = fixedTime.toISOString();

export async function newLayout(layoutDir: string, refName: string): Promise<void> {
  await run('umoci', ['init', '--layout', layoutDir]);
  await run('umoci', ['new', '--image', `${layoutDir}:${refName}`]);
}

/** Unpack `layout:ref` into a runtime bundle (as root: owners kept as they are in the layers). */
export async function unpack(layoutDir: string, refName: string, bundleDir: string): Promise<void> {
  await run('umoci', ['unpack', '--image', `${layoutDir}:${refName}`, bundleDir]);
}

/** Add one layer holding what changed in the bundle's rootfs, with a history entry `createdBy`. */
export async function repack(layoutDir: string, refName: string, bundleDir: string, createdBy: string): Promise<void> {
  await run('umoci', ['repack', '--image', `${layoutDir}:${refName}`, '--refresh-bundle',
    '--history.created_by', createdBy, '--history.created', fixedTimeText, bundleDir]);
}

export interface ImageConfigChange {
  env?: string[];
  cmd?: string[];
  workingDir?: string;
  architecture?: string;
}

/** Change the image config; umoci records an empty-layer history entry `umoci config`. */
export async function configure(layoutDir: string, refName: string, change: ImageConfigChange): Promise<void> {
  const args = ['config', '--image', `${layoutDir}:${refName}`, '--created', fixedTimeText,
    '--history.created', fixedTimeText];
  for (const value of change.env ?? []) args.push('--config.env', value);
  for (const value of change.cmd ?? []) args.push('--config.cmd', value);
  if (change.workingDir !== undefined) args.push('--config.workingdir', change.workingDir);
  if (change.architecture !== undefined) args.push('--architecture', change.architecture);
  await run('umoci', args);
}

export async function collectGarbage(layoutDir: string): Promise<void> {
  await run('umoci', ['gc', '--layout', layoutDir]);
}

/** Give every entry under `dir` (and `dir` itself) the fixed timestamp, without following symlinks. */
export function normalizeTimes(dir: string): void {
  lutimesSync(dir, fixedTime, fixedTime);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) normalizeTimes(path);
    else lutimesSync(path, fixedTime, fixedTime);
  }
}
