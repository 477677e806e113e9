/**
 * Source wildcard expansion as fsutil's ResolveWildcards does it for BuildKit's FileOp copy: the path is cut
 * before its first segment holding a wildcard; the part before is resolved in the source root (symlinks
 * followed); the tree below is walked in lexical order without following symlinks, every walked path is
 * tested whole against the rest of the pattern with Go's filepath.Match, and a matching directory is not
 * descended into.
 */
import { readdirSync } from 'node:fs';
import { KilnError } from '../../errors.ts';
import { lstatIfExists } from '../../fs/extract/safe-path.ts';
import { containsWildcards, goPathMatch, BadPatternError } from '../../fs/patterns/go-path-match.ts';
import { rootPath, relativeToRoot } from './root-path.ts';

export interface SplitPattern {
  /** The literal leading part, '/'-rooted and cleaned. */
  base: string;
  /** The part from the first wildcard segment on, or '' when there is none. */
  pattern: string;
}

/** Splits a '/'-rooted source path at its first wildcard segment (fsutil's splitWildcards). */
export function splitWildcards(path: string): SplitPattern {
  const base: string[] = [];
  const pattern: string[] = [];
  let found = false;
  for (const part of path.split('/')) {
    if (!found && containsWildcards(part)) found = true;
    if (found) pattern.push(part);
    else base.push(part);
  }
  return { base: cleanJoin(base), pattern: pattern.filter((p) => p !== '' && p !== '.').join('/') };
}

function cleanJoin(parts: string[]): string {
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

export interface WildcardOptions {
  followSymlinks: boolean;
  /** Paths relative to the source root (no leading '/') that do not exist for the copy (.dockerignore). */
  isIgnored?: (relPath: string) => boolean;
}

/**
 * The '/'-rooted source paths a source pattern stands for. Without wildcards that is the cleaned path itself,
 * whether it exists or not. A missing literal base directory is an error, as in BuildKit
 * (`lstat /dir: no such file or directory`); a pattern matching nothing gives an empty list.
 */
export function resolveWildcards(srcRoot: string, srcPath: string, options: WildcardOptions): string[] {
  const { base, pattern } = splitWildcards(srcPath);
  if (pattern === '') return [base];
  const baseHost = rootPath(srcRoot, base, options.followSymlinks);
  const baseRel = relativeToRoot(srcRoot, baseHost);
  const stats = lstatIfExists(baseHost);
  if (stats === undefined || (baseRel !== '' && options.isIgnored?.(baseRel))) {
    throw new KilnError('COPY_SOURCE_NOT_FOUND', `lstat ${base}: no such file or directory`, {
      hint: 'the directory before the first wildcard must exist in the source',
    });
  }
  const depth = pattern.split('/').length;
  const matches: string[] = [];
  const visit = (host: string, rel: string, isDir: boolean): void => {
    if (rel !== '') {
      let hit: boolean;
      try {
        hit = goPathMatch(pattern, rel);
      } catch (err) {
        if (err instanceof BadPatternError) return; // Go's walk ignores the match error and goes on.
        throw err;
      }
      if (hit) {
        matches.push(base === '/' ? `/${rel}` : `${base}/${rel}`);
        return;
      }
    }
    // A path deeper than the pattern has segments can never match: '*' and '?' do not cross '/'.
    if (!isDir || (rel === '' ? 0 : rel.split('/').length) >= depth) return;
    for (const name of readdirSync(host).sort()) {
      const childHost = `${host}/${name}`;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const fullRel = baseRel === '' ? childRel : `${baseRel}/${childRel}`;
      if (options.isIgnored?.(fullRel)) continue;
      const child = lstatIfExists(childHost);
      if (child !== undefined) visit(childHost, childRel, child.isDirectory());
    }
  };
  visit(baseHost, '', stats.isDirectory());
  return matches;
}
