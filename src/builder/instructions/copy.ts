/**
 * COPY and ADD (BuildKit's dispatchCopy): each source copied by the copy engine into the stage's rootfs,
 * the changed paths committed as one layer. With --link (and no --chmod) BuildKit builds the layer on an
 * empty tree and merges it, so the layer carries its own parent directories: done the same way here.
 */
import fs from 'node:fs';
import type { AddInstruction, CopyInstruction } from '../../dockerfile/instructions/index.ts';
import { located } from '../../dockerfile/instructions/index.ts';
import { KilnError } from '../../errors.ts';
import { redactUrl, redactUrlsInText } from '../../log/redact.ts';
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
  return /^(https?|git|ssh):\/\//.test(src) || /^git@/.test(src);
}

/**
 * ADD's URL and git sources: fetched into a private dir of the step (removed after the copy), then copied
 * from there like a context file. The remote-source module loads only when a Dockerfile has one.
 */
async function remoteSource(inst: CopyLike, source: string, ctx: DispatchContext): Promise<{ tree: SourceTree; request: Partial<CopyRequest>; staging: string; digest: string }> {
  if (inst.kind === 'COPY') {
    throw new KilnError('COPY_SOURCE_IS_URL', "source can't be a URL for COPY", {
      location: { file: inst.location.file, line: inst.location.line, text: inst.location.text },
      hint: 'use ADD for URLs and git repositories',
    });
  }
  const { fetchRemoteSource } = await import('../copy/remote-source.ts');
  const staging = ctx.stepDir();
  try {
    const fetched = await fetchRemoteSource(source, {
      keepGitDir: inst.keepGitDir,
      ...(inst.checksum !== undefined ? { checksum: inst.checksum } : {}),
      ...(inst.unpack !== undefined ? { unpack: inst.unpack } : {}),
    }, { stagingDir: staging, env: process.env, secrets: ctx.run.secrets, logger: ctx.logger, ...(ctx.run.signal ? { signal: ctx.run.signal } : {}) });
    return {
      tree: { root: fetched.srcRoot, ownership: 'root' },
      request: { srcPath: fetched.srcPath, unpack: fetched.unpack, copyDirContents: fetched.copyDirContents, literalSource: true },
      staging,
      // What pins the fetched content (sha256 of the file, or the git commit): for the step's cache key.
      digest: fetched.digest,
    };
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (!(err instanceof KilnError) || err.location) throw err;
    // The quoted line keeps no user info of the URL.
    throw new KilnError(err.code, err.message, {
      location: { file: inst.location.file, line: inst.location.line, text: redactUrlsInText(inst.location.text ?? '') },
      exitCode: err.exitCode,
      ...(err.hint ? { hint: err.hint } : {}),
    });
  }
}

/** BuildKit's commit message: flags it prints, expanded sources, heredoc names, the destination as written. */
function createdBy(inst: CopyLike): string {
  const parts: string[] = [inst.kind];
  if (inst.kind === 'COPY' && inst.parents) parts.push('--parents');
  if (inst.chown) parts.push(`--chown=${inst.chown}`);
  if (inst.chmod) parts.push(`--chmod=${inst.chmod}`);
  // A URL's user info (ADD https://user:pass@…) stays out of the image's history.
  parts.push(...inst.sources.map(redactUrl), ...inst.sourceContents.map((c) => `<<${c.path}`), inst.dest);
  return parts.join(' ');
}

interface SourceTree {
  root: string;
  ownership: CopyRequest['ownership'];
  isIgnored?: (rel: string) => boolean;
}

/** The build context as a COPY/ADD source (what .dockerignore leaves in). */
function contextTree(ctx: DispatchContext): SourceTree {
  return { root: ctx.contextRoot, ownership: 'root', isIgnored: (rel) => !ctx.isContextPathIncluded(rel) };
}

async function copyInto(dstRoot: string, dest: string, inst: CopyLike, src: SourceTree, owner: Owner | undefined, ctx: DispatchContext): Promise<string[]> {
  const chmod = inst.chmod === undefined ? undefined : located(inst.location, () => parseChmod(inst.chmod!));
  const epoch = ctx.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: ctx.sourceDateEpoch };
  const changed: string[] = [];
  for (const source of inst.sources) {
    if (inst.kind === 'ADD' && inst.checksum !== undefined && !isRemote(source)) {
      throw new KilnError('ADD_INVALID_CHECKSUM', "checksum can't be specified for non-HTTP(S) and non-Git sources", {
        location: { file: inst.location.file, line: inst.location.line, text: inst.location.text },
      });
    }
    const remote = isRemote(source) ? await remoteSource(inst, source, ctx) : undefined;
    const tree = remote?.tree ?? src;
    try {
      const result = await located(inst.location, () => copyFiles({
        srcRoot: tree.root,
        srcPath: source,
        dstRoot,
        dest,
        ...(owner ? { chown: owner } : {}),
        ...(chmod ? { chmod } : {}),
        followSymlinks: true,
        unpack: inst.kind === 'ADD' && (inst.unpack ?? true),
        parents: inst.kind === 'COPY' && inst.parents,
        excludePatterns: inst.exclude,
        ownership: tree.ownership,
        ...(tree.isIgnored ? { isIgnored: tree.isIgnored } : {}),
        ...epoch,
        ...remote?.request,
      }));
      changed.push(...result.changed);
    } finally {
      if (remote) fs.rmSync(remote.staging, { recursive: true, force: true });
    }
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
  if (inst.kind === 'COPY' && inst.from !== undefined) {
    const dep = await ctx.copySource(inst, inst.from);
    return ctx.readFiles(dep.state, (root) => copyLayer(state, inst, { root, ownership: 'preserve' }, ctx));
  }
  return copyLayer(state, inst, contextTree(ctx), ctx);
}

/** Copies `src`'s files into the stage as one layer (or a --link layer built apart from the stage's files). */
async function copyLayer(state: StageState, inst: CopyLike, src: SourceTree, ctx: DispatchContext): Promise<StepResult> {
  const dest = destRelativeToWorkdir(state.config.config.WorkingDir, inst.dest);
  const chownSpec = inst.chown;
  const ownerIn = (root: string): Owner | undefined =>
    chownSpec === undefined ? undefined : located(inst.location, () => resolveChown(chownSpec, root));
  let layer;
  if (inst.link && inst.chmod === undefined) {
    // Names in --chown are looked up in the stage's user database; numbers need no files.
    const needsUserDb = chownSpec !== undefined && !/^\d+(:\d+)?$/.test(chownSpec);
    const owner = needsUserDb ? await ctx.readFiles(state, async (root) => ownerIn(root)) : ownerIn('/nonexistent');
    const tree = ctx.scratchDir(state);
    await copyInto(tree, dest, inst, src, owner, ctx);
    layer = await ctx.commitTreeLayer(state, tree);
  } else {
    layer = await ctx.editFiles(state, (root) => copyInto(root, dest, inst, src, ownerIn(root), ctx));
  }
  return { ...(layer ? { layer } : {}), history: copyHistory(inst) };
}

export function dispatchCopy(state: StageState, inst: CopyInstruction, ctx: DispatchContext): Promise<StepResult> {
  return dispatchCopyLike(state, inst, ctx);
}

export function dispatchAdd(state: StageState, inst: AddInstruction, ctx: DispatchContext): Promise<StepResult> {
  return dispatchCopyLike(state, inst, ctx);
}
