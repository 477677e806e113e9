/**
 * .dockerignore: which context paths COPY/ADD may see. `<Dockerfile>.dockerignore` next to the Dockerfile
 * wins over `<context>/.dockerignore` (BuildKit). Matching follows Docker's rules via @balena/dockerignore
 * (`**`, `!` exceptions, a matched directory excludes its contents).
 */
import fs from 'node:fs';
import path from 'node:path';
import ignoreModule from '@balena/dockerignore';
import type { Ignore } from '@balena/dockerignore';

// The package is CommonJS (`module.exports = factory`) but its types declare an ES default export, which
// Node's ESM loader does not give: the imported value is the factory itself.
const ignore = ignoreModule as unknown as (options?: { ignorecase?: boolean }) => Ignore;

export interface IgnoreRules {
  /** The file the patterns came from; undefined when there is none. */
  file?: string;
  patterns: string[];
}

/** Docker's ReadAll: one pattern a line, `#` comment lines and blank lines skipped, whitespace trimmed. */
export function parseIgnoreFile(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    const line = raw.trim();
    if (line !== '') out.push(line);
  }
  return out;
}

function readIfFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Reads the ignore rules for a build; `dockerfilePath` is absolute, or undefined for a Dockerfile from stdin. */
export function readIgnoreRules(contextRoot: string, dockerfilePath: string | undefined): IgnoreRules {
  const candidates = dockerfilePath ? [`${dockerfilePath}.dockerignore`] : [];
  candidates.push(path.join(contextRoot, '.dockerignore'));
  for (const file of candidates) {
    const text = readIfFile(file);
    if (text !== undefined) return { file, patterns: parseIgnoreFile(text) };
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
  readonly #ig: Ignore;
  /** With `!` exceptions, an excluded directory may still hold included paths, so walks must look inside. */
  readonly hasExceptions: boolean;

  constructor(patterns: readonly string[]) {
    this.patterns = [...patterns];
    this.#ig = ignore().add([...patterns]);
    this.hasExceptions = patterns.some((p) => p.startsWith('!'));
  }

  isIncluded(rel: string): boolean {
    const n = normalizeRelPath(rel);
    if (n === '' || this.patterns.length === 0) return true;
    if (n === '..' || n.startsWith('../')) return false;
    return !this.#ig.ignores(n);
  }
}
