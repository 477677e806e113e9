/**
 * ADD of remote sources and a Dockerfile by URL, end to end through bin/kiln against servers on 127.0.0.1:
 * URLs (name from the URL, mode 0600, mtime from Last-Modified, redirects, --checksum, --chown/--chmod,
 * archives left packed unless --unpack, 404, a transient 503, user info kept out of history and logs),
 * git repositories (`#ref:subdir`, --keep-git-dir), and COPY refusing URLs as BuildKit does.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import tar from 'tar-stream';
import { createTestRepos, type TestRepos } from '../../env/git-repos.ts';
import { startGitServer, type GitServer } from '../../env/git-server.ts';
import { startHttpFileServer, type HttpFileServer } from '../../env/http-files.ts';
import { context, kiln, tempDir } from '../builder/kiln-process.ts';
import { allImageBytes, imageFiles } from './image-files.ts';

const LAST_MODIFIED = new Date('2021-03-04T05:06:07Z');
const HELLO = 'hello from the web\n';
const SHA = createHash('sha256').update(HELLO).digest('hex');

async function tarGz(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mode: 0o644, mtime: LAST_MODIFIED }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return zlib.gzipSync(Buffer.concat(chunks));
}

describe('ADD of remote sources', () => {
  let web: HttpFileServer;
  let git: GitServer;
  let repos: TestRepos;

  before(async () => {
    web = await startHttpFileServer({
      files: {
        '/files/hello.txt': { body: HELLO, lastModified: LAST_MODIFIED },
        '/files/app.tar.gz': { body: await tarGz({ 'inner/x.txt': 'x\n' }), lastModified: LAST_MODIFIED },
        '/files/Dockerfile': { body: `FROM scratch\nADD /files/hello.txt /from-url-dockerfile/\n` },
        '/private/p.txt': { body: 'private\n', basic: 'webuser:web-Pw-77-secret' },
        '/flaky.txt': { body: 'eventually\n' },
      },
      redirects: { '/moved': '/files/hello.txt' },
      failFirst: { '/flaky.txt': 1 },
    });
    git = await startGitServer();
    repos = createTestRepos(git.root, git.url);
  });
  after(async () => {
    await web?.stop();
    await git?.stop();
  });

  async function build(t: { after(fn: () => void): void }, dockerfile: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
    const ctx = context(t, { Dockerfile: dockerfile });
    const out = path.join(tempDir(t, 'kiln-add-out-'), 'layout');
    const r = await kiln(['build', '--no-push', '--oci-layout-path', out, '-c', ctx, ...args], env);
    return { ...r, out };
  }

  it('downloads a URL: name from the URL, mode 0600, mtime from Last-Modified, redirects followed, --chown/--chmod', async (t) => {
    const r = await build(t, [
      'FROM scratch',
      `ADD ${web.url}/files/hello.txt /dl/`,
      `ADD --chown=5:6 --chmod=0755 ${web.url}/moved /x/renamed`,
      `ADD --checksum=sha256:${SHA} ${web.url}/files/hello.txt /checked`,
      `ADD ${web.url}/flaky.txt /flaky.txt`,
    ].join('\n'));
    assert.equal(r.status, 0, r.stderr);
    const files = await imageFiles(r.out);
    assert.deepEqual(files.get('dl/hello.txt'), { type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: LAST_MODIFIED.getTime() / 1000, content: HELLO });
    const renamed = files.get('x/renamed');
    assert.equal(renamed?.content, HELLO);
    assert.deepEqual([renamed?.mode, renamed?.uid, renamed?.gid], [0o755, 5, 6]);
    assert.equal(files.get('checked')?.content, HELLO);
    assert.equal(files.get('flaky.txt')?.content, 'eventually\n');
    assert.equal(files.get('flaky.txt')?.mtime, 0, 'no Last-Modified: the Unix epoch, as BuildKit');
    assert.match(r.stderr, /503[\s\S]*retrying/);
  });

  it('leaves a downloaded archive packed unless --unpack', async (t) => {
    const r = await build(t, `FROM scratch\nADD ${web.url}/files/app.tar.gz /packed/\nADD --unpack=true ${web.url}/files/app.tar.gz /unpacked/\n`);
    assert.equal(r.status, 0, r.stderr);
    const files = await imageFiles(r.out);
    assert.ok(files.get('packed/app.tar.gz')?.content !== undefined);
    assert.equal(files.get('unpacked/inner/x.txt')?.content, 'x\n');
    assert.equal(files.has('unpacked/app.tar.gz'), false);
  });

  it('fails naming the URL on 404 and on a checksum mismatch, leaving no download behind', async (t) => {
    const tmp = tempDir(t, 'kiln-add-tmp-');
    const missing = await build(t, `FROM scratch\nADD ${web.url}/files/nope.txt /x\n`, [], { TMPDIR: tmp });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, new RegExp(`Dockerfile:2: GET ${web.url}/files/nope.txt: 404 Not Found`));
    const bad = await build(t, `FROM scratch\nADD --checksum=sha256:${'0'.repeat(64)} ${web.url}/files/hello.txt /x\n`, [], { TMPDIR: tmp });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, new RegExp(`checksum mismatch: expected sha256:0{64}, got sha256:${SHA}`));
    assert.deepEqual(fs.readdirSync(tmp), []);
  });

  it('sends user info of a URL as Basic credentials, and keeps it out of logs, history and errors', async (t) => {
    const secret = 'web-Pw-77-secret';
    const r = await build(t, `FROM scratch\nADD http://webuser:${secret}@${web.url.slice(7)}/private/p.txt /p.txt\n`, ['--verbosity=trace']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await imageFiles(r.out)).get('p.txt')?.content, 'private\n');
    assert.equal(r.stderr.includes(secret), false, r.stderr);
    assert.equal(allImageBytes(r.out).includes(secret), false, 'the image (history included) holds no credentials');
    const denied = await build(t, `FROM scratch\nADD http://webuser:wrong-${secret}@${web.url.slice(7)}/private/p.txt /p.txt\n`);
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /401 Unauthorized/);
    assert.equal(denied.stderr.includes(secret), false, denied.stderr);
  });

  it('adds a git repository at a ref and sub directory, with .git only for --keep-git-dir', async (t) => {
    const r = await build(t, [
      'FROM scratch',
      `ADD ${git.url}/app.git#v1:dir /src/`,
      `ADD --keep-git-dir=true ${git.url}/app.git#${repos.commits.feature} /repo`,
      `ADD ${git.url}/app.git /main`,
    ].join('\n'));
    assert.equal(r.status, 0, r.stderr);
    const files = await imageFiles(r.out);
    assert.equal(files.get('src/b.txt')?.content, 'b\n');
    assert.equal(files.has('src/a.txt'), false);
    assert.equal(files.get('repo/a.txt')?.content, 'feature\n');
    assert.equal(files.get('repo/.git/HEAD')?.content, `${repos.commits.feature}\n`);
    assert.equal(files.get('main/a.txt')?.content, 'v2\n');
    assert.equal(files.get('main/lib/sub.txt')?.content, 'submodule content\n');
    assert.equal([...files.keys()].some((k) => k === 'main/.git' || k.startsWith('main/.git/') || k === 'main/lib/.git'), false);
  });

  it("authenticates ADD of a private repository with BuildKit's GIT_AUTH_TOKEN secret, never with the context's GIT_PASSWORD", async (t) => {
    const token = 'ghp-like-Token-4455';
    const privateGit = await startGitServer({ user: { name: 'x-access-token', password: token } });
    t.after(() => privateGit.stop());
    createTestRepos(privateGit.root, privateGit.url);
    // .git kept: what git wrote there (config, FETCH_HEAD, logs) must hold no credential either.
    const dockerfile = `FROM scratch\nADD --keep-git-dir=true ${privateGit.url}/app.git#v1 /src\n`;
    const r = await build(t, dockerfile, ['--secret', `id=GIT_AUTH_TOKEN.${privateGit.url.slice(7)},env=MY_TOKEN`, '--verbosity=trace'], { MY_TOKEN: token });
    assert.equal(r.status, 0, r.stderr);
    const files = await imageFiles(r.out);
    assert.equal(files.get('src/a.txt')?.content, 'v1\n');
    assert.ok(files.has('src/.git/config'));
    assert.equal(r.stderr.includes(token), false);
    assert.equal(allImageBytes(r.out).includes(token), false);

    const before = privateGit.requests.length;
    const refused = await build(t, dockerfile, [], { GIT_USERNAME: 'x-access-token', GIT_PASSWORD: token, GIT_TOKEN: token });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /Dockerfile:2: git fetch of HEAD from http:\/\/127\.0\.0\.1:\d+\/app\.git failed: .*Authentication failed|could not read Username/);
    assert.equal(refused.stderr.includes(token), false);
    assert.ok(privateGit.requests.slice(before).every((q) => q.authorization === undefined), 'no credentials sent');
  });

  it('reads a Dockerfile from a URL', async (t) => {
    const ctx = context(t, { 'files/hello.txt': 'from the context\n' });
    const out = path.join(tempDir(t, 'kiln-add-out-'), 'layout');
    const r = await kiln(['build', '--no-push', '--oci-layout-path', out, '-c', ctx, '-f', `${web.url}/files/Dockerfile`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await imageFiles(out)).get('from-url-dockerfile/hello.txt')?.content, 'from the context\n');
    const missing = await kiln(['build', '--no-push', '--oci-layout-path', out, '-c', ctx, '-f', `${web.url}/files/NoDockerfile`]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--dockerfile: GET http:\/\/127\.0\.0\.1:\d+\/files\/NoDockerfile: 404/);
  });

  it('refuses a URL in COPY and --checksum on a local ADD source, as BuildKit does', async (t) => {
    const r = await build(t, `FROM scratch\nCOPY ${web.url}/files/hello.txt /x\n`);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Dockerfile:2: source can't be a URL for COPY/);
    const local = await build(t, `FROM scratch\nADD --checksum=sha256:${SHA} Dockerfile /x\n`);
    assert.equal(local.status, 1);
    assert.match(local.stderr, /Dockerfile:2: checksum can't be specified for non-HTTP\(S\) and non-Git sources/);
  });
});
