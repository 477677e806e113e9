/**
 * Walks the included part of a context directory: sorted by name, parents before children, symlinks not
 * followed. An excluded directory is entered only when `!` exceptions could re-include something inside,
 * and is then listed only if something inside is included (as Docker and BuildKit do).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IgnoreMatcher } from './dockerignore.ts';

export interface ContextEntry {
  /** Slash-separated path relative to the context root. */
  rel: string;
  abs: string;
  stat: fs.Stats;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function* walkContext(root: string, matcher: IgnoreMatcher, startRel = ''): Generator<ContextEntry> {
  const startAbs = startRel === '' ? root : path.join(root, startRel);
  const startStat = fs.lstatSync(startAbs);
  if (!startStat.isDirectory()) {
    if (matcher.isIncluded(startRel)) yield { rel: startRel, abs: startAbs, stat: startStat };
    return;
  }
  yield* walkDir(root, startRel, matcher);
}

function* walkDir(root: string, dirRel: string, matcher: IgnoreMatcher): Generator<ContextEntry> {
  const dirAbs = dirRel === '' ? root : path.join(root, dirRel);
  const names = fs.readdirSync(dirAbs).sort(byName);
  for (const name of names) {
    const rel = dirRel === '' ? name : `${dirRel}/${name}`;
    const abs = path.join(dirAbs, name);
    const stat = fs.lstatSync(abs);
    const included = matcher.isIncluded(rel);
    if (!stat.isDirectory()) {
      if (included) yield { rel, abs, stat };
      continue;
    }
    if (included) {
      yield { rel, abs, stat };
      yield* walkDir(root, rel, matcher);
    } else if (matcher.hasExceptions) {
      const inside = [...walkDir(root, rel, matcher)];
      if (inside.length > 0) {
        yield { rel, abs, stat };
        yield* inside;
      }
    }
  }
}
