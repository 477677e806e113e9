/**
 * `--context` values, as kaniko reads them: a directory (`DIR` or `dir://DIR`), `tar://FILE[.gz]`,
 * `tar://stdin`, and the remote schemes git://, s3://, gs:// and Azure blob URLs.
 */
import path from 'node:path';
import { KilnError } from '../errors.ts';
import type { ContextSource } from '../builder/options.ts';

const AZURE_BLOB = /^https:\/\/[a-z0-9]+\.blob\.core\.windows\.net\//i;
/** kaniko takes http(s) URLs of repositories (`….git`, optionally `#ref#commit`) as git contexts. */
const GIT_URL = /^https?:\/\/[^#]+\.git\/?(#.*)?$/i;

function contextError(message: string, hint?: string): KilnError {
  return new KilnError('INVALID_CONTEXT', message, { exitCode: 2, hint });
}

/** Joins a sub path onto a root, refusing to leave the root. */
export function joinSubPath(root: string, subPath: string): string {
  if (subPath === '') return root;
  const joined = path.resolve(root, subPath.replace(/^\/+/, ''));
  const rel = path.relative(root, joined);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw contextError(`--context-sub-path "${subPath}" leaves the build context`);
  }
  return joined;
}

export function parseContextSpec(spec: string, subPath: string, cwd: string): ContextSource {
  if (spec === '') {
    throw contextError('--context is empty', 'give the build context directory, or tar://FILE');
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(spec)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'dir', path: joinSubPath(path.resolve(cwd, spec), subPath) };
  const rest = spec.slice(scheme.length + 3);
  switch (scheme) {
    case 'dir':
      return { kind: 'dir', path: joinSubPath(path.resolve(cwd, rest), subPath) };
    case 'tar':
      if (rest === 'stdin') return { kind: 'stdin', subPath };
      if (rest === '') throw contextError('--context tar:// needs a file, or tar://stdin');
      return { kind: 'tar', path: path.resolve(cwd, rest), subPath };
    case 'git':
      return { kind: 'git', url: spec, subPath };
    case 's3':
      return { kind: 's3', url: spec, subPath };
    case 'gs':
      return { kind: 'gcs', url: spec, subPath };
    case 'https':
    case 'http':
      if (AZURE_BLOB.test(spec)) return { kind: 'azure', url: spec, subPath };
      if (GIT_URL.test(spec)) return { kind: 'git', url: spec, subPath };
      break;
  }
  throw contextError(`--context "${spec}": unsupported context source`, 'use a directory, dir://DIR, tar://FILE, tar://stdin, git://, an http(s) URL ending in .git, s3://, gs:// or an Azure blob URL');
}

/** Context kinds Kiln can open: all of kaniko's. */
export function isContextKindSupported(source: ContextSource): boolean {
  return ['dir', 'tar', 'stdin', 'git', 's3', 'gcs', 'azure'].includes(source.kind);
}

export function describeContext(source: ContextSource): string {
  switch (source.kind) {
    case 'dir':
      return source.path;
    case 'tar':
      return `tar://${source.path}`;
    case 'stdin':
      return 'tar://stdin';
    default:
      return source.url;
  }
}
