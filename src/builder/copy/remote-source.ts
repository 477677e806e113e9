/**
 * ADD's remote sources, as BuildKit's dockerfile frontend makes them: an http(s) URL becomes one file (named
 * after the URL's last path element, mode 0600, mtime from Last-Modified, not unpacked unless --unpack,
 * verified against --checksum); a git URL becomes the tree of one commit (`#ref:subdir`, `.git` only with
 * --keep-git-dir). Either is fetched into a staging directory of the step, and the ordinary copy engine
 * copies it from there, so --chown, --chmod, --exclude, the destination rules and the layer are COPY's.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../../errors.ts';
import type { Logger } from '../../log/logger.ts';
import { redactUrl } from '../../log/redact.ts';
import { downloadHttp } from '../../context/download.ts';
import { fetchGitTree } from '../../context/git-fetch.ts';
import { isGitSource, parseBuildkitGitSource, redactGitUrl } from '../../context/git-url.ts';
import type { GitAuth } from '../../context/git-url.ts';
import type { SecretSpec } from '../options.ts';

export interface RemoteSourceFlags {
  checksum?: string;
  keepGitDir: boolean;
  /** ADD --unpack; BuildKit leaves downloaded archives packed by default. */
  unpack?: boolean;
}

export interface FetchedSource {
  /** Directory holding what was fetched (inside the staging dir). */
  srcRoot: string;
  /** What to copy from srcRoot. */
  srcPath: string;
  /** Copy a directory's contents (git trees) rather than the directory itself. */
  copyDirContents: boolean;
  unpack: boolean;
  /**
   * The identity of the fetched content, for cache keys: `sha256:<hex>` of a downloaded file, or
   * `git:<commit>[:<subdir>]` for a git tree (the commit pins every byte of it; `.git` kept or not is a
   * flag of the instruction).
   */
  digest: string;
}

export interface FetchRemoteOptions {
  /** An empty private directory of the step, outside every rootfs; the caller removes it. */
  stagingDir: string;
  env: NodeJS.ProcessEnv;
  /** `--secret`s: BuildKit's GIT_AUTH_TOKEN[.<host>] authenticates ADD of git repositories. */
  secrets?: readonly SecretSpec[];
  logger?: Logger;
  signal?: AbortSignal;
  /** Test seam: progress interval for long downloads (ms). */
  progressIntervalMs?: number;
}

export function isRemoteSource(src: string): boolean {
  return /^https?:\/\//i.test(src) || isGitSource(src);
}

/** BuildKit's name for a downloaded file: the URL path's last element, or `__unnamed__`. */
export function downloadFileName(url: string): string {
  let base = '';
  try {
    base = path.posix.basename(new URL(url).pathname);
  } catch {
    base = '';
  }
  return base === '' || base === '.' || base === '/' ? '__unnamed__' : decodeURIComponentSafe(base);
}

function decodeURIComponentSafe(s: string): string {
  try {
    const d = decodeURIComponent(s);
    return d.includes('/') || d === '..' ? s : d;
  } catch {
    return s;
  }
}

const CHECKSUM = /^(sha256|sha384|sha512):([0-9a-f]+)$/;

function checksumError(message: string): KilnError {
  return new KilnError('ADD_CHECKSUM_MISMATCH', message, { exitCode: 1 });
}

function verifyChecksum(file: string, sha256: string, checksum: string, shown: string): void {
  const m = CHECKSUM.exec(checksum);
  if (!m) {
    throw new KilnError('ADD_INVALID_CHECKSUM', `invalid --checksum "${checksum}"`, { exitCode: 2, hint: 'use --checksum=sha256:<64 hex digits>' });
  }
  const [, algorithm, expected] = m as unknown as [string, string, string];
  const actual = algorithm === 'sha256' ? sha256.slice('sha256:'.length) : createHash(algorithm).update(fs.readFileSync(file)).digest('hex');
  if (actual !== expected) {
    throw checksumError(`ADD ${shown}: checksum mismatch: expected ${algorithm}:${expected}, got ${algorithm}:${actual}`);
  }
}

async function fetchHttp(url: string, flags: RemoteSourceFlags, options: FetchRemoteOptions): Promise<FetchedSource> {
  const name = downloadFileName(url);
  const dir = path.join(options.stagingDir, 'http');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  const got = await downloadHttp(url, file, {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.progressIntervalMs !== undefined ? { progressIntervalMs: options.progressIntervalMs } : {}),
  });
  if (flags.checksum !== undefined) verifyChecksum(file, got.digest, flags.checksum, redactUrl(url));
  fs.chmodSync(file, 0o600);
  // BuildKit's http source: Last-Modified, else the Unix epoch (never the download time, which would vary).
  const mtime = got.lastModified ?? new Date(0);
  fs.utimesSync(file, mtime, mtime);
  return { srcRoot: dir, srcPath: `/${name}`, copyDirContents: false, unpack: flags.unpack ?? false, digest: got.digest };
}

/**
 * BuildKit's credentials for git sources: the build secret `GIT_AUTH_TOKEN.<host>`, else `GIT_AUTH_TOKEN`, sent
 * as Basic `x-access-token:<token>`. The context's GIT_TOKEN/GIT_PASSWORD are not used: a Dockerfile could
 * name any host, and they would go there.
 */
export function gitAuthFromSecrets(remote: string, secrets: readonly SecretSpec[], env: NodeJS.ProcessEnv): GitAuth | undefined {
  let host = '';
  try {
    host = new URL(remote).host;
  } catch {
    return undefined;
  }
  const spec = secrets.find((s) => s.id === `GIT_AUTH_TOKEN.${host}`) ?? secrets.find((s) => s.id === 'GIT_AUTH_TOKEN');
  if (!spec) return undefined;
  const token = spec.source.kind === 'env' ? env[spec.source.name] : fs.readFileSync(spec.source.path, 'utf8').trim();
  return token ? { username: 'x-access-token', password: token } : undefined;
}

async function fetchGit(src: string, flags: RemoteSourceFlags, options: FetchRemoteOptions): Promise<FetchedSource> {
  const location = parseBuildkitGitSource(src);
  const dest = path.join(options.stagingDir, 'git');
  const auth = location.auth ?? gitAuthFromSecrets(location.remote, options.secrets ?? [], options.env);
  const { commit } = await fetchGitTree({
    location,
    dest,
    ...(auth ? { auth } : {}),
    recurseSubmodules: true,
    insecureSkipTls: false,
    keepGitDir: flags.keepGitDir,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (flags.checksum !== undefined && !commit.startsWith(flags.checksum.replace(/^sha1:/, ''))) {
    throw checksumError(`ADD ${redactGitUrl(src)}: checksum mismatch: expected commit ${flags.checksum}, got ${commit}`);
  }
  const root = location.subdir ? path.join(dest, location.subdir) : dest;
  if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    throw new KilnError('COPY_SOURCE_NOT_FOUND', `ADD ${redactGitUrl(src)}: no directory "${location.subdir}" in commit ${commit}`);
  }
  return {
    srcRoot: root,
    srcPath: '/',
    copyDirContents: true,
    unpack: false,
    digest: `git:${commit}${location.subdir ? `:${location.subdir}` : ''}`,
  };
}

/** Fetches one remote ADD source into the staging dir. */
export function fetchRemoteSource(src: string, flags: RemoteSourceFlags, options: FetchRemoteOptions): Promise<FetchedSource> {
  return isGitSource(src) ? fetchGit(src, flags, options) : fetchHttp(src, flags, options);
}
