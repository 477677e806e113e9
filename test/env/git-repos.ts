/**
 * Test repositories for git contexts and ADD of git sources, written into a git server's root:
 * `sub.git` (one file) and `app.git` with a main branch, a `feature` branch, an annotated tag `v1`,
 * a pull-request ref `refs/pull/1/head` and a submodule `lib` pointing at sub.git on the same server.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestRepos {
  /** Commits by name: v1 (tagged), main (the tip, with the submodule), feature, pr. */
  commits: { v1: string; main: string; feature: string; pr: string; sub: string };
  /** The files of `main` (without the submodule), for building the same context from a directory. */
  mainFiles: Record<string, string>;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Kiln Test', GIT_AUTHOR_EMAIL: 'test@kiln.invalid', GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'Kiln Test', GIT_COMMITTER_EMAIL: 'test@kiln.invalid', GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1', HOME: os.tmpdir(),
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'protocol.file.allow=always', ...args], { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

function write(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
}

function commitAll(dir: string, message: string): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** Creates the repositories under `root`; `serverUrl` is where the server serves `root` (for the submodule URL). */
export function createTestRepos(root: string, serverUrl: string): TestRepos {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-git-work-'));
  try {
    const sub = path.join(work, 'sub');
    fs.mkdirSync(sub);
    git(sub, 'init', '-q');
    write(sub, { 'sub.txt': 'submodule content\n' });
    const subCommit = commitAll(sub, 'sub');
    git(work, 'clone', '-q', '--bare', sub, path.join(root, 'sub.git'));

    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    git(app, 'init', '-q');
    const v1Files = {
      Dockerfile: 'FROM scratch\nCOPY . /ctx/\n',
      '.dockerignore': '**/.git\n',
      'a.txt': 'v1\n',
      'dir/b.txt': 'b\n',
      'dir/Dockerfile': 'FROM scratch\nCOPY b.txt /sub/b.txt\n',
    };
    write(app, v1Files);
    const v1 = commitAll(app, 'v1');
    git(app, 'tag', '-a', 'v1', '-m', 'version 1');

    git(app, 'checkout', '-q', '-b', 'feature');
    write(app, { 'a.txt': 'feature\n' });
    const feature = commitAll(app, 'feature');

    git(app, 'checkout', '-q', '-b', 'pr', v1);
    write(app, { 'a.txt': 'pr\n' });
    const pr = commitAll(app, 'pr');

    git(app, 'checkout', '-q', 'main');
    write(app, { 'a.txt': 'v2\n', '.gitmodules': `[submodule "lib"]\n\tpath = lib\n\turl = ${serverUrl}/sub.git\n` });
    git(app, 'add', '-A');
    // A gitlink without a checked-out submodule: `add -A` would stage its removal, so it is added last.
    git(app, 'update-index', '--add', '--cacheinfo', `160000,${subCommit},lib`);
    git(app, 'commit', '-q', '-m', 'main with submodule');
    const main = git(app, 'rev-parse', 'HEAD');

    const bare = path.join(root, 'app.git');
    git(work, 'clone', '-q', '--bare', app, bare);
    git(bare, 'update-ref', 'refs/pull/1/head', pr);
    // http-backend serves any commit reachable from a ref; the pr branch of the work tree is not one here.
    git(bare, 'branch', '-D', 'pr');
    return {
      commits: { v1, main, feature, pr, sub: subCommit },
      mainFiles: { ...v1Files, 'a.txt': 'v2\n', '.gitmodules': `[submodule "lib"]\n\tpath = lib\n\turl = ${serverUrl}/sub.git\n` },
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
