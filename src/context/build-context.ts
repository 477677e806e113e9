/**
 * Opens the build context named by BuildOptions: a local directory as is, a tar (file or stdin) extracted
 * to a temporary directory. Gives the front end the Dockerfile text and COPY/ADD the included paths.
 * The Dockerfile and the .dockerignore stay readable even when .dockerignore excludes them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { KilnError } from '../errors.ts';
import type { ContextSource, DockerfileSource } from '../builder/options.ts';
import { IgnoreMatcher, readIgnoreRules } from './dockerignore.ts';
import type { IgnoreRules } from './dockerignore.ts';
import { pathInContext } from './path-in-context.ts';
import { describeContext, joinSubPath } from './source.ts';
import { walkContext } from './walk.ts';
import type { ContextEntry } from './walk.ts';
import type { RemoteOpenIo } from './remote-open.ts';

export interface DockerfileText {
  text: string;
  /** Absolute path; undefined when the Dockerfile came from stdin. */
  path: string | undefined;
  /** The name used in messages ("Dockerfile", "docker/Dockerfile.prod"). */
  displayName: string;
}

export interface BuildContext {
  /** Absolute path of the context directory (sub-path applied). */
  readonly root: string;
  readonly source: ContextSource;
  readonly ignore: IgnoreRules;
  /** Whether COPY/ADD may see `relPath` (relative to the root; "./a", "/a" and "a" are the same). */
  isIncluded(relPath: string): boolean;
  /** Included entries under `startRel` (default: the whole context), sorted, parents first. */
  walk(startRel?: string): Iterable<ContextEntry>;
  readDockerfile(): DockerfileText;
  /** Removes what opening made (the extracted tar); a directory context is left alone. Idempotent. */
  cleanup(): void;
}

export interface OpenContextIo extends RemoteOpenIo {
  /** Standard input, for `tar://stdin` and `--dockerfile -`. */
  stdin?: Readable;
  /** Where to extract tar and remote contexts; default the OS temp dir. */
  tempDir?: string;
}

function notSupported(source: ContextSource): KilnError {
  return new KilnError('FLAG_NOT_SUPPORTED', `--context ${describeContext(source)}: ${source.kind} build contexts are not supported yet`, {
    exitCode: 2,
    hint: 'use a local directory, dir://DIR, tar://FILE or tar://stdin',
  });
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

function isDirectory(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** Resolves a Dockerfile named relative to the context root; absolute paths are kept. */
export function resolveDockerfileInContext(dockerfile: DockerfileSource, root: string): DockerfileSource {
  if (dockerfile.kind !== 'file' || !dockerfile.relativeToContext) return dockerfile;
  return { ...dockerfile, path: path.resolve(root, dockerfile.path), relativeToContext: false };
}

function loadDockerfile(dockerfile: DockerfileSource, root: string, stdinText: string | undefined): DockerfileText {
  if (dockerfile.kind === 'stdin') return { text: stdinText ?? '', path: undefined, displayName: 'Dockerfile' };
  if (dockerfile.kind === 'url') {
    throw new KilnError('FLAG_NOT_SUPPORTED', `--dockerfile ${dockerfile.url}: Dockerfiles from URLs are not supported yet`, { exitCode: 2 });
  }
  const file = resolveDockerfileInContext(dockerfile, root) as { path: string; given: string };
  const readable = pathInContext(root, file.path);
  const st = fs.statSync(readable, { throwIfNoEntry: false });
  if (!st?.isFile()) {
    throw new KilnError('DOCKERFILE_NOT_FOUND', `--dockerfile ${file.given}: no Dockerfile at ${file.path}`, {
      exitCode: 2,
      hint: 'please provide a valid path to a Dockerfile within the build context with --dockerfile',
    });
  }
  const rel = path.relative(root, file.path);
  const displayName = rel.startsWith('..') || path.isAbsolute(rel) ? file.given : rel.split(path.sep).join('/');
  return { text: fs.readFileSync(readable, 'utf8'), path: file.path, displayName };
}

export async function openBuildContext(source: ContextSource, dockerfile: DockerfileSource, io: OpenContextIo = {}): Promise<BuildContext> {
  const stdin = io.stdin ?? process.stdin;
  if (source.kind === 'stdin' && dockerfile.kind === 'stdin') {
    throw new KilnError('INVALID_FLAG', '--context tar://stdin and --dockerfile - cannot both read standard input', { exitCode: 2 });
  }
  let root: string;
  let temp: string | undefined;
  switch (source.kind) {
    case 'dir':
      root = source.path;
      if (!isDirectory(root)) {
        throw new KilnError('INVALID_CONTEXT', `--context: ${root} is not a directory`, { exitCode: 2 });
      }
      break;
    case 'tar':
    case 'stdin': {
      temp = fs.mkdtempSync(path.join(io.tempDir ?? os.tmpdir(), 'kiln-context-'));
      try {
        // tar-stream is loaded only for tar contexts: a directory context, the usual case, never needs it.
        // Loaded before the stream opens, so nothing can emit 'error' before extractTar listens.
        const { extractTar } = await import('./tar-extract.ts');
        const input = source.kind === 'stdin' ? stdin : fs.createReadStream(source.path);
        await extractTar(input, temp);
        root = joinSubPath(temp, source.subPath);
        if (!isDirectory(root)) {
          throw new KilnError('INVALID_CONTEXT', `--context-sub-path ${source.subPath}: no such directory in the context`, { exitCode: 2 });
        }
      } catch (err) {
        fs.rmSync(temp, { recursive: true, force: true });
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && source.kind === 'tar') {
          throw new KilnError('INVALID_CONTEXT', `--context tar://${source.path}: no such file`, { exitCode: 2, cause: err });
        }
        throw err;
      }
      break;
    }
    case 'git':
    case 's3':
    case 'gcs':
    case 'azure': {
      temp = fs.mkdtempSync(path.join(io.tempDir ?? os.tmpdir(), 'kiln-context-'));
      try {
        // Remote providers, their SDKs and git load only for remote contexts.
        const { openRemoteContextDir } = await import('./remote-open.ts');
        root = (await openRemoteContextDir(source, temp, io)).root;
      } catch (err) {
        fs.rmSync(temp, { recursive: true, force: true });
        throw err;
      }
      break;
    }
    default:
      throw notSupported(source);
  }

  let cleaned = false;
  const cleanup = (): void => {
    if (temp && !cleaned) fs.rmSync(temp, { recursive: true, force: true });
    cleaned = true;
  };
  try {
    const stdinText = dockerfile.kind === 'stdin' ? await readAll(stdin) : undefined;
    const text = dockerfile.kind === 'url'
      ? { text: await (await import('./remote-open.ts')).fetchDockerfileText(dockerfile.url, io), path: undefined, displayName: 'Dockerfile' }
      : loadDockerfile(dockerfile, root, stdinText);
    const ignore = readIgnoreRules(root, text.path);
    const matcher = new IgnoreMatcher(ignore.patterns, ignore);
    return {
      root,
      source,
      ignore,
      isIncluded: (rel) => matcher.isIncluded(rel),
      walk: (startRel = '') => walkContext(root, matcher, startRel),
      readDockerfile: () => text,
      cleanup,
    };
  } catch (err) {
    cleanup();
    throw err;
  }
}
