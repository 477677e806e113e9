/**
 * The file-copy engine behind COPY and ADD: one source of one instruction, executed as BuildKit's FileOp
 * copy does for the Dockerfile frontend (FollowSymlinks, CopyDirContentsOnly, AllowWildcard,
 * AllowEmptyWildcard, CreateDestPath; AttemptUnpack for ADD; IncludePatterns for --parents).
 *
 * Per matched source: the destination's parents are created (0755, --chown owner, --chmod mode); a file
 * copied onto an existing directory goes inside it under its own name; a directory's contents are merged
 * into the destination, which is created when missing; then the tree is copied (see copier.ts).
 */
import { posix, resolve } from 'node:path';
import { KilnError } from '../../errors.ts';
import { lstatIfExists } from '../../fs/extract/safe-path.ts';
import { loadArchiveUnpacker } from '../lazy-modules.ts';
import type { ChmodSpec } from './chmod.ts';
import { compileSymbolicMode } from './chmod.ts';
import type { Owner } from './chown.ts';
import { TreeCopier } from './copier.ts';
import { cleanDestPath, cleanSourcePath, destinationFor, parentsSource, splitDest } from './dest-path.ts';
import { mkdirAll, type CreatedDirMetadata } from './mkdir-all.ts';
import { InvalidPatternError, PatternMatcher } from '../../fs/patterns/pattern-matcher.ts';
import { inRootPath, relativeToRoot, rootPath } from './root-path.ts';
import { resolveWildcards } from './wildcards.ts';
import { copyXattrs } from './xattrs.ts';

export interface CopyRequest {
  /** Host dir holding the source tree (the build context, or another stage's rootfs). */
  srcRoot: string;
  /** The source as written after expansion, relative to srcRoot ('/'-rooted paths too); may hold wildcards. */
  srcPath: string;
  /** The stage's rootfs dir on the host. */
  dstRoot: string;
  /** Absolute destination inside the rootfs, resolved against WORKDIR, trailing '/' kept. */
  dest: string;
  chown?: Owner;
  chmod?: ChmodSpec;
  /** Follow the source itself when it is a symlink (BuildKit: true for COPY/ADD sources). */
  followSymlinks: boolean;
  /** ADD: extract local tar archives instead of copying them. */
  unpack: boolean;
  /** COPY --parents: keep the source's path (below a `/./` pivot) under the destination. */
  parents?: boolean;
  excludePatterns?: string[];
  /** 'root': context files become 0:0; 'preserve': files from another stage keep uid/gid. */
  ownership: 'root' | 'preserve';
  /** .dockerignore for context sources: paths relative to srcRoot, without a leading '/'. */
  isIgnored?: (relPath: string) => boolean;
  /** When set (seconds), created and copied entries get this mtime. */
  sourceDateEpoch?: number;
  /** Copy a directory source itself rather than its contents (BuildKit's heredoc copies). Default true. */
  copyDirContents?: boolean;
  /** Take srcPath literally, without wildcard expansion (BuildKit's heredoc copies). Default false. */
  literalSource?: boolean;
  /** Receives warnings that do not fail the copy (xattrs that could not be restored). */
  warn?: (message: string) => void;
}

export interface CopyResult {
  /** Absolute paths inside the rootfs created or modified, including created parent directories; sorted. */
  changed: string[];
  /** Number of sources the (possibly wildcard) source path stood for. */
  matched: number;
}

function notFound(path: string): KilnError {
  return new KilnError('COPY_SOURCE_NOT_FOUND', `"${path}": not found`, {
    hint: 'check the path against the build context (and .dockerignore) or the source stage',
  });
}

function compilePatterns(patterns: readonly string[], flag: string): PatternMatcher {
  try {
    return new PatternMatcher(patterns);
  } catch (err) {
    if (!(err instanceof InvalidPatternError)) throw err;
    const why = err.reason;
    throw new KilnError('COPY_INVALID_PATTERN', `invalid ${flag} pattern ${JSON.stringify(patterns)}: ${why}`);
  }
}

/** Copies one COPY/ADD source into the rootfs. */
export async function copyFiles(req: CopyRequest): Promise<CopyResult> {
  const srcRoot = resolve(req.srcRoot);
  const dstRoot = resolve(req.dstRoot);
  try {
    return await copyResolved(req, srcRoot, dstRoot);
  } catch (err) {
    // Messages name paths as seen inside the roots, as BuildKit's do, not where the roots live on the host.
    if (!(err instanceof KilnError)) throw err;
    const strip = (text: string): string => text.split(`${dstRoot}/`).join('/').split(`${srcRoot}/`).join('/');
    throw new KilnError(err.code, strip(err.message), { hint: err.hint, cause: err });
  }
}

async function copyResolved(req: CopyRequest, srcRoot: string, dstRoot: string): Promise<CopyResult> {
  const changed = new Set<string>();
  const onChange = (host: string): void => {
    changed.add(inRootPath(dstRoot, host));
  };
  const isIgnored = req.isIgnored;
  const ignoredHost = isIgnored === undefined ? undefined : (host: string): boolean => isIgnored(relativeToRoot(srcRoot, host));

  let source = req.srcPath;
  let include: PatternMatcher | undefined;
  if (req.parents) {
    const split = parentsSource(req.srcPath);
    source = split.source;
    include = compilePatterns([split.pattern], '--parents');
    if (split.requiredPath !== undefined) {
      const required = rootPath(srcRoot, split.requiredPath, req.followSymlinks);
      if (lstatIfExists(required) === undefined || ignoredHost?.(required)) throw notFound(split.requiredPath);
    }
  }
  const exclude = req.excludePatterns !== undefined && req.excludePatterns.length > 0 ? compilePatterns(req.excludePatterns, '--exclude') : undefined;
  const compiledChmod = req.chmod?.symbolic !== undefined ? compileSymbolicMode(req.chmod.symbolic) : undefined;
  const dirMetadata: CreatedDirMetadata = { chown: req.chown, chmod: req.chmod, compiledChmod, time: req.sourceDateEpoch };
  const destPath = cleanDestPath(req.dest);

  const matches = req.literalSource
    ? [posix.normalize(cleanSourcePath(source))]
    : resolveWildcards(srcRoot, cleanSourcePath(source), { followSymlinks: req.followSymlinks, isIgnored });
  for (const match of matches) {
    const srcHost = rootPath(srcRoot, match, req.followSymlinks);
    const srcStats = lstatIfExists(srcHost);
    if (srcStats === undefined || (srcHost !== srcRoot && ignoredHost?.(srcHost))) throw notFound(match);

    if (req.unpack) {
      const { archiveCompression, extractArchive } = await loadArchiveUnpacker();
      const compression = await archiveCompression(srcHost);
      if (compression !== undefined) {
        const destHost = rootPath(dstRoot, destPath, true);
        for (const dir of mkdirAll(destHost, { chown: req.chown, time: req.sourceDateEpoch })) onChange(dir);
        await extractArchive(srcHost, compression, destHost, { chown: req.chown, onChange });
        continue;
      }
    }

    const { ensureDir, target } = splitDest(destPath);
    for (const dir of mkdirAll(rootPath(dstRoot, ensureDir, true), dirMetadata)) onChange(dir);
    const dstHost = rootPath(dstRoot, target, true);
    const placement = destinationFor(srcStats.isDirectory(), match, dstHost, req.copyDirContents ?? true);
    for (const dir of mkdirAll(placement.ensureDir, dirMetadata)) onChange(dir);

    const copier = new TreeCopier({
      chown: req.chown,
      chmod: req.chmod,
      compiledChmod,
      ownership: req.ownership,
      time: req.sourceDateEpoch,
      include,
      exclude,
      isIgnored: ignoredHost,
      onChange,
    });
    copier.copyTop(srcHost, placement.target);
    copyXattrs(copier.xattrCopies, req.warn ?? (() => {}));
  }
  return { changed: [...changed].sort(), matched: matches.length };
}
