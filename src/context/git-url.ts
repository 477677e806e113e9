/**
 * Git locations as kaniko (`--context git://host/org/repo.git#<ref>#<commit>`) and BuildKit
 * (`ADD https://host/org/repo.git#<ref>[:<subdir>]`, `ADD git@host:org/repo.git#<ref>`) write them.
 * Credentials written into a URL are taken out of it: they travel to git through a credential helper,
 * never on a command line or in a message.
 */
import { KilnError } from '../errors.ts';

export interface GitAuth {
  username: string;
  password: string;
}

export interface GitLocation {
  /** What `git fetch` is given: no user info, no fragment. */
  remote: string;
  /** A branch, tag, full ref (`refs/pull/7/head`) or commit SHA; undefined = the remote's HEAD. */
  ref?: string;
  /** kaniko's third part: the commit to check out after fetching `ref`. */
  commit?: string;
  /** BuildKit's `#ref:subdir`: the directory of the repository to use. */
  subdir?: string;
  /** User info that was written in the URL. */
  auth?: GitAuth;
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/i;

export function isCommitSha(ref: string): boolean {
  return SHA.test(ref);
}

function gitError(given: string, why: string): KilnError {
  return new KilnError('INVALID_GIT_URL', `invalid git location "${redactGitUrl(given)}": ${why}`, { exitCode: 2 });
}

/** Removes user info from anything URL-shaped, for messages. */
export function redactGitUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1***@');
}

/** Splits user info off an http(s) URL. */
function withoutUserInfo(url: string, given: string): { remote: string; auth?: GitAuth } {
  if (!/^https?:\/\//i.test(url)) return { remote: url };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw gitError(given, 'not a URL');
  }
  if (parsed.username === '' && parsed.password === '') return { remote: url };
  const auth = { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  parsed.username = '';
  parsed.password = '';
  return { remote: parsed.toString(), auth };
}

/**
 * kaniko's git context: `git://` names the repository, `GIT_PULL_METHOD` (https unless "http") the protocol;
 * an `https://` or `http://` URL is used as written. Fragments: `#ref` then `#commit`.
 */
export function parseKanikoGitContext(spec: string, env: NodeJS.ProcessEnv): GitLocation {
  const [location = '', ref, commit, ...extra] = spec.split('#');
  if (extra.length > 0) throw gitError(spec, 'expected at most two "#" parts (#ref#commit)');
  let url: string;
  if (/^git:\/\//i.test(location)) {
    const method = (env.GIT_PULL_METHOD ?? '').toLowerCase() === 'http' ? 'http' : 'https';
    url = `${method}://${location.slice('git://'.length)}`;
  } else if (/^https?:\/\//i.test(location)) {
    url = location;
  } else {
    throw gitError(spec, 'expected git://, https:// or http://');
  }
  if (/^[a-z]+:\/\/\/?$/i.test(url) || /:\/\/[^/]*$/.test(url)) throw gitError(spec, 'no repository path');
  if (commit !== undefined && commit !== '' && !isCommitSha(commit)) throw gitError(spec, `"${commit}" is not a commit SHA`);
  return {
    ...withoutUserInfo(url, spec),
    ...(ref ? { ref } : {}),
    ...(commit ? { commit } : {}),
  };
}

/** Whether an ADD source names a git repository the way BuildKit's dockerfile frontend detects one. */
export function isGitSource(src: string): boolean {
  if (/^git@[^:]+:/.test(src) || /^(git|ssh):\/\//i.test(src)) return true;
  if (!/^https?:\/\//i.test(src)) return false;
  const withoutFragment = src.split('#')[0]!.split('?')[0]!;
  return /\.git\/?$/i.test(withoutFragment);
}

/** BuildKit's ADD git source: `URL#ref:subdir` (either part may be empty). */
export function parseBuildkitGitSource(src: string): GitLocation {
  const hash = src.indexOf('#');
  const url = hash < 0 ? src : src.slice(0, hash);
  const fragment = hash < 0 ? '' : src.slice(hash + 1);
  const colon = fragment.indexOf(':');
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1);
  if (subdir.split('/').includes('..')) throw gitError(src, 'the sub directory leaves the repository');
  return {
    ...withoutUserInfo(url, src),
    ...(ref ? { ref } : {}),
    ...(subdir && subdir !== '/' ? { subdir: subdir.replace(/^\/+|\/+$/g, '') } : {}),
  };
}

/** kaniko's credentials: GIT_TOKEN (sent as the user name) wins over GIT_USERNAME/GIT_PASSWORD. */
export function gitAuthFromEnv(env: NodeJS.ProcessEnv): GitAuth | undefined {
  const token = env.GIT_TOKEN ?? '';
  if (token !== '') return { username: token, password: '' };
  const username = env.GIT_USERNAME ?? '';
  const password = env.GIT_PASSWORD ?? '';
  return username === '' && password === '' ? undefined : { username, password };
}
