/**
 * COPY and ADD (BuildKit's dispatchCopy): each source copied by the copy engine into the stage's rootfs,
 * the changed paths committed as one layer. With --link (and no --chmod) BuildKit builds the layer on an
 * empty tree and merges it, so the layer carries its own parent directories: done the same way here.
 */
import type { AddInstruction, CopyInstruction } from '../../dockerfile/instructions/index.ts';
import { located } from '../../dockerfile/instructions/index.ts';
import { KilnError } from '../../errors.ts';
import { parseChmod } from '../copy/chmod.ts';
import { resolveChown, type Owner } from '../copy/chown.ts';
import { copyFiles, type CopyRequest } from '../copy/copy-files.ts';
import { writeHeredocFile } from '../copy/heredoc-source.ts';
import type { DispatchContext } from '../dispatch-context.ts';
import { historyEntry } from '../history.ts';
import { destRelativeToWorkdir } from '../paths.ts';
import type { StageState } from '../state.ts';
import type { StepResult } from '../step-result.ts';

type CopyLike = CopyInstruction | AddInstruction;

function isRemote(src: string): boolean {
  return /^(https?|git):\/\//.test(src) || /^git@/.test(src);
}

function notSupported(inst: CopyLike, what: string): KilnError {
  return new KilnError('NOT_SUPPORTED', `${inst.kind}: ${what} is not supported yet`, {
    location: { file: inst.location.file, line: inst.location.line, text: inst.location.text },
    exitCode: 2,
  });
}

/** BuildKit's commit message: flags it prints, expanded sources, heredoc names, the destination as written. */
function createdBy(inst: CopyLike): string {
  const parts: string[] = [inst.kind];
  if (inst.kind === 'COPY' && inst.parents) parts.push('--parents');
  if (inst.chown) parts.push(`--chown=${inst.chown}`);
  if (inst.chmod) parts.push(`--chmod=${inst.chmod}`);
  parts.push(...inst.sources, ...inst.sourceContents.map((c) => `<<${c.path}`), inst.dest);
  return parts.join(' ');
}

interface SourceTree {
  root: string;
  ownership: CopyRequest['ownership'];
  isIgnored?: (rel: string) => boolean;
}

async function sourceTree(inst: CopyLike, ctx: DispatchContext): Promise<SourceTree> {
  if (inst.kind === 'COPY' && inst.from !== undefined) {
    const dep = await ctx.copySource(inst, inst.from);
    return { root: await ctx.rootfs(dep.state), ownership: 'preserve' };
  }
  return { root: ctx.contextRoot, ownership: 'root', isIgnored: (rel) => !ctx.isContextPathIncluded(rel) };
}

async function copyInto(dstRoot: string, dest: string, inst: CopyLike, src: SourceTree, owner: Owner | undefined, ctx: DispatchContext): Promise<string[]> {
  const chmod = inst.chmod === undefined ? undefined : located(inst.location, () => parseChmod(inst.chmod!));
  const epoch = ctx.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: ctx.sourceDateEpoch };
  const changed: string[] = [];
  for (const source of inst.sources) {
    if (isRemote(source)) throw notSupported(inst, `remote source ${source}`);
    const result = await located(inst.location, () => copyFiles({
      srcRoot: src.root,
      srcPath: source,
      dstRoot,
      dest,
      ...(owner ? { chown: owner } : {}),
      ...(chmod ? { chmod } : {}),
      followSymlinks: true,
      unpack: inst.kind === 'ADD' && (inst.unpack ?? true),
      parents: inst.kind === 'COPY' && inst.parents,
      excludePatterns: inst.exclude,
      ownership: src.ownership,
      ...(src.isIgnored ? { isIgnored: src.isIgnored } : {}),
      ...epoch,
    }));
    changed.push(...result.changed);
  }
  for (const content of inst.sourceContents) {
    const result = await writeHeredocFile({
      name: content.path, content: content.data, dstRoot, dest,
      ...(owner ? { chown: owner } : {}), ...(chmod ? { chmod } : {}), ...epoch,
    });
    changed.push(...result.changed);
  }
  return changed;
}

/** The history entry of a COPY or ADD, whether it ran or its layer came from the cache. */
export function copyHistory(inst: CopyLike): StepResult['history'] {
  return historyEntry(createdBy(inst), { layer: true, fromFilesystemChange: true });
}

async function dispatchCopyLike(state: StageState, inst: CopyLike, ctx: DispatchContext): Promise<StepResult> {
  const dest = destRelativeToWorkdir(state.config.config.WorkingDir, inst.dest);
  const src = await sourceTree(inst, ctx);
  const chownSpec = inst.chown;
  const needsUserDb = chownSpec !== undefined && !/^\d+(:\d+)?$/.test(chownSpec);
  const link = inst.link && inst.chmod === undefined;
  const rootfs = link && !needsUserDb ? undefined : await ctx.rootfs(state);
  const owner = chownSpec === undefined ? undefined : located(inst.location, () => resolveChown(chownSpec, rootfs ?? '/nonexistent'));
  let layer;
  if (link) {
    const tree = ctx.scratchDir(state);
    await copyInto(tree, dest, inst, src, owner, ctx);
    layer = await ctx.commitTreeLayer(state, tree);
  } else {
    layer = await ctx.commitLayer(state, await copyInto(rootfs!, dest, inst, src, owner, ctx));
  }
  return { ...(layer ? { layer } : {}), history: copyHistory(inst) };
}

export function dispatchCopy(state: StageState, inst: CopyInstruction, ctx: DispatchContext): Promise<StepResult> {
  return dispatchCopyLike(state, inst, ctx);
}

export function dispatchAdd(state: StageState, inst: AddInstruction, ctx: DispatchContext): Promise<StepResult> {
  return dispatchCopyLike(state, inst, ctx);
}
