/**
 * kaniko's git context: `git://host/org/repo.git[#ref[#commit]]` or an http(s) URL ending in `.git`,
 * `--git branch=…,single-branch=…,recurse-submodules=…,insecure-skip-tls=…`, credentials from GIT_TOKEN or
 * GIT_USERNAME/GIT_PASSWORD. As in kaniko, the checkout keeps its `.git` (a `.dockerignore` can leave it out).
 */
import { fetchGitTree } from './git-fetch.ts';
import { gitAuthFromEnv, parseKanikoGitContext } from './git-url.ts';
import type { RemoteContextProvider } from './remote-context.ts';

export const gitContext: RemoteContextProvider = {
  async fetchContext(req) {
    const location = parseKanikoGitContext(req.source.url, req.env);
    // kaniko: --git branch=NAME names the branch to clone, over any #ref.
    if (req.git.branch !== '') location.ref = `refs/heads/${req.git.branch}`;
    const auth = location.auth ?? gitAuthFromEnv(req.env);
    const { commit } = await fetchGitTree({
      location,
      dest: req.dest,
      ...(auth ? { auth } : {}),
      recurseSubmodules: req.git.recurseSubmodules,
      insecureSkipTls: req.git.insecureSkipTls,
      keepGitDir: true,
      ...(req.logger ? { logger: req.logger } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    return { digest: `git:${commit}` };
  },
};
