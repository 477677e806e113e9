/**
 * Fetches one commit of a git repository into a directory with the real `git` client (the same client users
 * debug with, with every transport, proxy and TLS setting git has), shallow where the server allows it.
 *
 * Credentials never appear on a command line: git asks a credential helper, configured through
 * GIT_CONFIG_* environment variables and scoped to the repository's origin, which prints them from the
 * environment of git's own processes. Error messages are scrubbed of them too.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { isCommitSha, redactGitUrl } from './git-url.ts';
import type { GitAuth, GitLocation } from './git-url.ts';

export interface GitFetchRequest {
  location: GitLocation;
  /** An empty or missing directory; filled with the checkout. */
  dest: string;
  auth?: GitAuth;
  recurseSubmodules: boolean;
  insecureSkipTls: boolean;
  /** Keep `.git` (kaniko's contexts, ADD --keep-git-dir); otherwise it is removed after the checkout. */
  keepGitDir: boolean;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface GitFetchResult {
  /** The commit checked out (full SHA): what a cache key of the fetched tree is made from. */
  commit: string;
}

// Prints the credentials from the environment of the git process, not from its arguments.
const CREDENTIAL_HELPER = '!f() { test "$1" = get || exit 0; printf "username=%s\\npassword=%s\\n" "$KILN_GIT_USERNAME" "$KILN_GIT_PASSWORD"; }; f';

function origin(remote: string): string | undefined {
  try {
    const u = new URL(remote);
    return /^https?:$/.test(u.protocol) ? `${u.protocol}//${u.host}` : undefined;
  } catch {
    return undefined;
  }
}

/** The environment of every git process: no prompts, fixed messages, config through GIT_CONFIG_*. */
export function gitEnvironment(req: Pick<GitFetchRequest, 'location' | 'auth' | 'insecureSkipTls'>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const config: [string, string][] = [['advice.detachedHead', 'false'], ['init.defaultBranch', 'kiln']];
  const env: NodeJS.ProcessEnv = { ...base, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  delete env.GIT_ASKPASS;
  delete env.SSH_ASKPASS;
  const auth = req.auth;
  const scope = origin(req.location.remote);
  if (auth && scope) {
    // An empty helper first drops helpers from git's own config for this origin: the given credentials win.
    config.push([`credential.${scope}.helper`, ''], [`credential.${scope}.helper`, CREDENTIAL_HELPER]);
    env.KILN_GIT_USERNAME = auth.username;
    env.KILN_GIT_PASSWORD = auth.password;
  }
  if (req.insecureSkipTls) config.push(['http.sslVerify', 'false']);
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runGit(args: string[], env: NodeJS.ProcessEnv, cwd: string, signal?: AbortSignal): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new KilnError('GIT_NOT_FOUND', 'git contexts and sources need the git client, and no "git" is on PATH', { hint: 'install git (Debian: apt-get install git)' }));
      } else reject(e);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/** The last meaningful lines of git's stderr, without progress lines and without any secret. */
function gitReason(stderr: string, auth: GitAuth | undefined): string {
  const lines = stderr.split(/[\r\n]+/).map((l) => l.trim()).filter((l) => l !== '' && !/^(remote: )?(Counting|Compressing|Receiving|Resolving|Enumerating|Total)\b/.test(l));
  let text = lines.slice(-2).join('; ') || 'git failed';
  for (const secret of [auth?.password, auth?.username]) {
    if (secret && secret.length >= 3) text = text.split(secret).join('***');
  }
  return redactGitUrl(text).replace(/(https?:\/\/)[^@/\s']*@/gi, '$1***@');
}

function fetchError(req: GitFetchRequest, what: string, run: GitRun): KilnError {
  const reason = gitReason(run.stderr, req.auth);
  const auth = /authentication failed|could not read username|401|403/i.test(run.stderr);
  return new KilnError('GIT_FETCH_FAILED', `git ${what} from ${redactGitUrl(req.location.remote)} failed: ${reason}`, {
    hint: auth
      ? 'give credentials with GIT_USERNAME and GIT_PASSWORD, or GIT_TOKEN'
      : 'check the repository URL, the ref (branch, tag, refs/…, commit SHA) and that the server is reachable',
  });
}

const TRANSIENT = /could not resolve host|connection (reset|refused|timed out)|timed out|early EOF|RPC failed|unexpected disconnect|HTTP (5\d\d|429)|returned error: 5\d\d/i;

/** Runs one network git command, retried twice on transient failures. */
async function gitNetwork(args: string[], env: NodeJS.ProcessEnv, cwd: string, req: GitFetchRequest): Promise<GitRun> {
  let run = await runGit(args, env, cwd, req.signal);
  for (let attempt = 1; attempt <= 2 && run.code !== 0 && TRANSIENT.test(run.stderr); attempt++) {
    req.logger?.warn(`git ${args[0]} from ${redactGitUrl(req.location.remote)} failed (${gitReason(run.stderr, req.auth)}), retrying`);
    await new Promise((r) => setTimeout(r, 500 * attempt));
    run = await runGit(args, env, cwd, req.signal);
  }
  return run;
}

/** Fetches `what` (a ref or a SHA) shallowly, then fully when the server refuses a shallow fetch of it. */
async function fetchRevision(what: string, env: NodeJS.ProcessEnv, req: GitFetchRequest): Promise<GitRun> {
  const shallow = await gitNetwork(['fetch', '--depth=1', '--no-tags', 'origin', what], env, req.dest, req);
  if (shallow.code === 0) return shallow;
  req.logger?.debug(`shallow fetch of ${what} refused (${gitReason(shallow.stderr, req.auth)}), fetching the whole history`);
  if (isCommitSha(what)) {
    return gitNetwork(['fetch', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*'], env, req.dest, req);
  }
  return gitNetwork(['fetch', '--no-tags', 'origin', what], env, req.dest, req);
}

async function git(args: string[], env: NodeJS.ProcessEnv, req: GitFetchRequest, what: string): Promise<GitRun> {
  const run = await runGit(args, env, req.dest, req.signal);
  if (run.code !== 0) throw fetchError(req, what, run);
  return run;
}

/** Clones the commit `location` names into `dest` (created), with submodules when asked. */
export async function fetchGitTree(req: GitFetchRequest): Promise<GitFetchResult> {
  const env = gitEnvironment(req);
  const { ref, commit } = req.location;
  fs.mkdirSync(req.dest, { recursive: true });
  req.logger?.info(`Fetching git repository ${redactGitUrl(req.location.remote)}${ref ? ` at ${ref}` : ''}${commit ? ` (commit ${commit})` : ''}`);
  await git(['init', '--quiet'], env, req, 'init');
  await git(['remote', 'add', 'origin', req.location.remote], env, req, 'remote add');

  const wanted = ref ?? 'HEAD';
  let checkout = 'FETCH_HEAD';
  if (commit !== undefined) {
    // kaniko's #ref#commit: the commit itself is fetched when the server allows it, else the ref's history.
    const direct = await gitNetwork(['fetch', '--depth=1', '--no-tags', 'origin', commit], env, req.dest, req);
    if (direct.code !== 0) {
      const full = await gitNetwork(['fetch', '--no-tags', 'origin', wanted], env, req.dest, req);
      if (full.code !== 0) throw fetchError(req, `fetch of ${wanted}`, full);
    }
    checkout = commit;
  } else {
    const run = await fetchRevision(wanted, env, req);
    if (run.code !== 0) throw fetchError(req, `fetch of ${wanted}`, run);
    if (isCommitSha(wanted)) checkout = wanted;
  }
  await git(['checkout', '--quiet', '--detach', checkout], env, req, `checkout of ${commit ?? wanted}`);
  const head = (await git(['rev-parse', 'HEAD'], env, req, 'rev-parse')).stdout.trim();

  if (req.recurseSubmodules && fs.existsSync(path.join(req.dest, '.gitmodules'))) {
    const args = ['submodule', 'update', '--init', '--recursive'];
    let run = await gitNetwork([...args, '--depth=1'], env, req.dest, req);
    if (run.code !== 0) run = await gitNetwork(args, env, req.dest, req);
    if (run.code !== 0) throw fetchError(req, 'submodule update', run);
  }
  if (!req.keepGitDir) await removeGitDirs(req, env);
  return { commit: head };
}

/** Removes `.git` of the repository and of each checked-out submodule (a file pointing into the first). */
async function removeGitDirs(req: GitFetchRequest, env: NodeJS.ProcessEnv): Promise<void> {
  const list = await runGit(['submodule', 'foreach', '--quiet', '--recursive', 'echo "$displaypath"'], env, req.dest, req.signal);
  const paths = list.code === 0 ? list.stdout.split('\n').filter((p) => p !== '') : [];
  for (const p of paths) fs.rmSync(path.join(req.dest, p, '.git'), { recursive: true, force: true });
  fs.rmSync(path.join(req.dest, '.git'), { recursive: true, force: true });
}
