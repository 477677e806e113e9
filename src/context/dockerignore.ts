/**
 * .dockerignore: which context paths COPY/ADD may see. `<Dockerfile>.dockerignore` next to the Dockerfile
 * wins over `<context>/.dockerignore` (BuildKit). Matching is moby's patternmatcher, as in BuildKit (the
 * same matcher as COPY --exclude): case-sensitive, `**`, `!` exceptions, a matched directory excludes its
 * contents, linear time; a malformed pattern is an error naming the file and line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.ts';
import { InvalidPatternError, PatternMatcher } from '../fs/patterns/pattern-matcher.ts';
import { pathInContext } from './path-in-context.ts';

export interface IgnoreRules {
  /** The file the patterns came from; undefined when there is none. */
  file?: string;
  patterns: string[];
  /** The 1-based line of each pattern in `file`, for error messages. */
  lines?: number[];
}

interface IgnoreLine {
  pattern: string;
  line: number;
}

/**
 * Docker's ReadAll: one pattern a line, `#` comment lines and blank lines skipped, whitespace trimmed (also
 * after a leading `!`), each path cleaned and made relative (`/a/../b/` → `b`).
 */
function parseIgnoreLines(text: string): IgnoreLine[] {
  const out: IgnoreLine[] = [];
  for (const [index, raw] of text.replace(/^\uFEFF/, '').split(/\r?\n/).entries()) {
    if (raw.startsWith('#') || raw.trim() === '') continue;
    out.push({ pattern: cleanIgnorePattern(raw), line: index + 1 });
  }
  return out;
}

/** One line of ReadAll's cleaning (idempotent): trimmed, `!` kept in front, the path cleaned and relative. */
function cleanIgnorePattern(raw: string): string {
  let pattern = raw.trim();
  const invert = pattern.startsWith('!');
  if (invert) pattern = pattern.slice(1).trim();
  if (pattern !== '') {
    pattern = path.posix.normalize(pattern);
    if (pattern.length > 1 && pattern.endsWith('/')) pattern = pattern.slice(0, -1);
    if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
  }
  return invert ? `!${pattern}` : pattern;
}

export function parseIgnoreFile(text: string): string[] {
  return parseIgnoreLines(text).map((l) => l.pattern);
}

function readIfFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw err;
  }
}

/** Reads the ignore rules for a build; `dockerfilePath` is absolute, or undefined for a Dockerfile from stdin. */
export function readIgnoreRules(contextRoot: string, dockerfilePath: string | undefined): IgnoreRules {
  const candidates = dockerfilePath ? [`${dockerfilePath}.dockerignore`] : [];
  candidates.push(path.join(contextRoot, '.dockerignore'));
  for (const file of candidates) {
    const text = readIfFile(pathInContext(contextRoot, file));
    if (text === undefined) continue;
    const lines = parseIgnoreLines(text);
    return { file, patterns: lines.map((l) => l.pattern), lines: lines.map((l) => l.line) };
  }
  return { patterns: [] };
}

/** Normalises a context-relative path ("./a//b/", "/a/b") to the slash form the matcher expects ("a/b"). */
export function normalizeRelPath(rel: string): string {
  const n = path.posix.normalize(rel.replaceAll('\\', '/')).replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  return n === '.' ? '' : n;
}

export class IgnoreMatcher {
  readonly patterns: readonly string[];
  readonly #matcher: PatternMatcher;
  /** With `!` exceptions, an excluded directory may still hold included paths, so walks must look inside. */
  readonly hasExceptions: boolean;

  /** Throws a KilnError (DOCKERIGNORE_INVALID_PATTERN) naming the file and line of a malformed pattern. */
  constructor(patterns: readonly string[], source: Omit<IgnoreRules, 'patterns'> = {}) {
    this.patterns = [...patterns];
    try {
      this.#matcher = new PatternMatcher(patterns.map(cleanIgnorePattern));
    } catch (err) {
      if (!(err instanceof InvalidPatternError)) throw err;
      throw invalidPattern(err, source);
    }
    this.hasExceptions = this.#matcher.hasExclusions;
  }

  isIncluded(rel: string): boolean {
    const n = normalizeRelPath(rel);
    if (n === '' || this.#matcher.empty) return true;
    if (n === '..' || n.startsWith('../')) return false;
    return !this.#matcher.match(n, []).matched;
  }
}

function invalidPattern(err: InvalidPatternError, source: Omit<IgnoreRules, 'patterns'>): KilnError {
  const file = source.file === undefined ? '.dockerignore' : path.basename(source.file);
  const line = source.lines?.[err.index];
  const message = `${err.reason} in ${file}: ${JSON.stringify(err.pattern)}`;
  return new KilnError('DOCKERIGNORE_INVALID_PATTERN', message, {
    location: line === undefined ? undefined : { file, line },
    hint: 'patterns follow Go\'s filepath.Match: escape a literal [ ] * ? or \\ with a backslash; a lone "!" is not a pattern',
  });
}
