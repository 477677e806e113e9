/**
 * Layer cache keys (docs/cache.md). A step's key is a digest of its parent step's key (the chain starts at
 * the base image's digest and platform, plus the settings that shape layer bytes), the instruction after
 * expansion, the variables a RUN sees, and the content of what the step reads: for COPY/ADD exactly the
 * context files its sources name (or the source stage's layers), for RUN --mount=type=bind the mounted
 * tree. Secrets never enter a key: only their ids, as written in the instruction.
 */
import { createHash } from 'node:crypto';
import type { Instruction, RunInstruction } from '../dockerfile/instructions/index.ts';
import type { CopyInstruction, AddInstruction } from '../dockerfile/instructions/index.ts';
import { resolveInRoot } from '../fs/extract/safe-path.ts';
import { treeDigest } from '../cache/tree-digest.ts';
import type { Platform } from '../image/types.ts';
import { formatPlatform } from '../image/platform.ts';
import { cleanSourcePath, parentsSource } from './copy/dest-path.ts';
import { rootPath } from './copy/root-path.ts';
import { resolveWildcards } from './copy/wildcards.ts';
import type { BuildOptions } from './options.ts';
import { runEnvironment } from './run-command.ts';
import type { StageState } from './state.ts';

const VERSION = 'kiln-layer-cache/v1';

export interface KeyInputs {
  contextRoot: string;
  isContextPathIncluded(relPath: string): boolean;
  /** The state a COPY --from or a mount's from= names. */
  sourceState(inst: Instruction, reference: string): Promise<StageState>;
}

function digestOf(parts: readonly unknown[]): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(parts)).digest('hex')}`;
}

/** What changes a layer's bytes without being an input of a step: compression, times. */
export function layerSettings(options: BuildOptions): unknown[] {
  return [
    options.output.compression, options.output.compressionLevel, options.reproducible, options.sourceDateEpoch ?? null,
    options.snapshotMode ?? 'redo',
  ];
}

/** The first link of a stage's chain: `FROM image` (by digest), or scratch. */
export function chainStart(base: { image: string } | 'scratch', platform: Platform, settings: unknown[]): string {
  return digestOf([VERSION, base === 'scratch' ? 'scratch' : base.image, formatPlatform(platform), settings]);
}

/** The instruction as it acts: expanded values without where it was written (moving a line misses nothing). */
function instructionFields(inst: Instruction): unknown {
  const { location: _location, original: _original, ...fields } = inst;
  return fields;
}

function isRemote(src: string): boolean {
  return /^(https?|git):\/\//.test(src) || /^git@/.test(src);
}

/** The source stage's layers (diffIDs), which is what COPY --from and mounts from= read. */
async function stageContent(inst: Instruction, reference: string, inputs: KeyInputs): Promise<string[]> {
  const state = await inputs.sourceState(inst, reference);
  return [...state.config.rootfs.diff_ids];
}

async function copyInputs(inst: CopyInstruction | AddInstruction, inputs: KeyInputs): Promise<unknown[]> {
  if (inst.kind === 'COPY' && inst.from !== undefined) return stageContent(inst, inst.from, inputs);
  const isIgnored = (rel: string): boolean => !inputs.isContextPathIncluded(rel);
  const out: unknown[] = [];
  for (const source of inst.sources) {
    if (isRemote(source)) throw new Error(`remote source ${source} has no content key`);
    const pattern = inst.kind === 'COPY' && inst.parents ? parentsSource(source).source : source;
    let matches: string[];
    try {
      matches = resolveWildcards(inputs.contextRoot, cleanSourcePath(pattern), { followSymlinks: true, isIgnored });
    } catch (err) {
      // The step itself reports the missing source.
      out.push(['unresolved', (err as Error).message]);
      continue;
    }
    const hosts = matches.map((m) => rootPath(inputs.contextRoot, m, true));
    out.push(treeDigest(inputs.contextRoot, hosts, { isIgnored }));
  }
  return out;
}

async function runInputs(inst: RunInstruction, state: StageState, inputs: KeyInputs): Promise<unknown[]> {
  const c = state.config.config;
  // Proxy build args are left out, as BuildKit does: they change where bytes come from, not what they are.
  const env = runEnvironment(state.vars, new Map()).sort();
  const mounts: unknown[] = [];
  for (const mount of inst.mounts ?? []) {
    if (mount.type !== 'bind') continue;
    if (mount.from !== undefined) mounts.push([mount.target, await stageContent(inst, mount.from, inputs), mount.source ?? '/']);
    else mounts.push([mount.target, treeDigest(inputs.contextRoot, [resolveInRoot(inputs.contextRoot, mount.source ?? '/', { followFinal: true })])]);
  }
  return [env, c.User ?? '', c.WorkingDir ?? '', c.Shell ?? null, mounts];
}

/** The key of `inst` (already expanded) on top of `parent`. Throws when the step's inputs cannot be keyed. */
export async function stepKey(parent: string, inst: Instruction, state: StageState, inputs: KeyInputs): Promise<string> {
  let reads: unknown[] = [];
  if (inst.kind === 'RUN') reads = await runInputs(inst, state, inputs);
  else if (inst.kind === 'COPY' || inst.kind === 'ADD') reads = await copyInputs(inst, inputs);
  return digestOf([VERSION, parent, instructionFields(inst), reads]);
}

/** "1a2b3c4d5e6f": the short form for logs. */
export function shortKey(key: string): string {
  return key.slice('sha256:'.length, 'sha256:'.length + 12);
}
