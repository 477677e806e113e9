/**
 * Opens a remote context into a temporary directory (the caller owns and removes it) and a Dockerfile
 * given by URL (`--dockerfile https://…`, as kaniko downloads it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GitOptions } from '../builder/options.ts';
import { KilnError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { redactUrl } from '../log/redact.ts';
import { downloadHttp } from './download.ts';
import { fetchRemoteContext } from './remote-context.ts';
import type { RemoteContextSource } from './remote-context.ts';
import { registerSecrets } from './secrets.ts';
import { joinSubPath } from './source.ts';

export interface RemoteOpenIo {
  git?: GitOptions;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  signal?: AbortSignal;
  tempDir?: string;
}

const NO_GIT_OPTIONS: GitOptions = { branch: '', singleBranch: false, recurseSubmodules: false, insecureSkipTls: false };

/** Fills `temp` with the context; returns the context root (the sub path applied). */
export async function openRemoteContextDir(source: RemoteContextSource, temp: string, io: RemoteOpenIo): Promise<{ root: string; digest: string }> {
  const dest = path.join(temp, 'context');
  const scratch = path.join(temp, 'download');
  fs.mkdirSync(dest);
  fs.mkdirSync(scratch);
  registerSecrets(io.logger, io.env ?? process.env);
  try {
    const { digest } = await fetchRemoteContext({
      source,
      dest,
      scratch,
      git: io.git ?? NO_GIT_OPTIONS,
      env: io.env ?? process.env,
      ...(io.logger ? { logger: io.logger } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
    });
    const root = joinSubPath(dest, source.subPath);
    if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
      throw new KilnError('INVALID_CONTEXT', `--context-sub-path ${source.subPath}: no such directory in ${redactUrl(source.url)}`, { exitCode: 2 });
    }
    return { root, digest };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Downloads a Dockerfile named by URL; nothing stays on disk. */
export async function fetchDockerfileText(url: string, io: RemoteOpenIo): Promise<string> {
  const dir = fs.mkdtempSync(path.join(io.tempDir ?? os.tmpdir(), 'kiln-dockerfile-'));
  try {
    const got = await downloadHttp(url, path.join(dir, 'Dockerfile'), {
      ...(io.logger ? { logger: io.logger } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
    }).catch((err: unknown) => {
      if (err instanceof KilnError) throw new KilnError(err.code, `--dockerfile: ${err.message}`, { exitCode: 2, ...(err.hint ? { hint: err.hint } : {}) });
      throw err;
    });
    return fs.readFileSync(got.path, 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
