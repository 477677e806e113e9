/**
 * Git build contexts end to end through bin/kiln, against git's own smart-HTTP server (`git http-backend`)
 * requiring Basic credentials: kaniko's `git://…#ref#commit` syntax over GIT_PULL_METHOD=http, branches,
 * tags, a pull-request ref, a commit by SHA, `--git branch=…,recurse-submodules=…`, --context-sub-path,
 * an http URL ending in .git. The image from the git context equals the one from the same files in a
 * directory; the credentials appear in no log, no error, no image and no process's command line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testCertificates } from '../../env/certs.ts';
import { createTestRepos, type TestRepos } from '../../env/git-repos.ts';
import { startGitServer, type GitServer } from '../../env/git-server.ts';
import { KILN, context, kiln, tempDir } from '../builder/kiln-process.ts';
import { allImageBytes, imageFiles, manifestDigest } from './image-files.ts';

const USER = 'kiln-git-user';
const PASSWORD = 'pw-Xq81-never-logged';
const EPOCH = '1700000000';

describe('git build contexts', () => {
  let server: GitServer;
  let repos: TestRepos;
  const auth = { GIT_PULL_METHOD: 'http', GIT_USERNAME: USER, GIT_PASSWORD: PASSWORD };

  before(async () => {
    server = await startGitServer({ user: { name: USER, password: PASSWORD } });
    repos = createTestRepos(server.root, server.url);
  });
  after(() => server?.stop());

  async function build(t: { after(fn: () => void): void }, args: string[], env: NodeJS.ProcessEnv = auth) {
    const out = path.join(tempDir(t, 'kiln-git-out-'), 'layout');
    const r = await kiln(['build', '--no-push', '--oci-layout-path', out, '--reproducible', ...args], { SOURCE_DATE_EPOCH: EPOCH, ...env });
    return { ...r, out };
  }

  async function aTxt(t: { after(fn: () => void): void }, spec: string, extra: string[] = []): Promise<string | undefined> {
    const r = await build(t, ['-c', spec, ...extra]);
    assert.equal(r.status, 0, r.stderr);
    return (await imageFiles(r.out)).get('ctx/a.txt')?.content;
  }

  it('builds the default branch with its submodule; the image equals the one from the same files as a directory', async (t) => {
    const r = await build(t, ['-c', `git://${server.host}/app.git`, '--git', 'recurse-submodules=true', '--verbosity=trace']);
    assert.equal(r.status, 0, r.stderr);
    const files = await imageFiles(r.out);
    assert.equal(files.get('ctx/a.txt')?.content, 'v2\n');
    assert.equal(files.get('ctx/lib/sub.txt')?.content, 'submodule content\n');
    assert.equal(files.has('ctx/.git'), false, '.dockerignore leaves .git out');

    const dir = context(t, { ...repos.mainFiles, 'lib/sub.txt': 'submodule content\n' });
    const local = await build(t, ['-c', dir]);
    assert.equal(local.status, 0, local.stderr);
    assert.equal(manifestDigest(r.out), manifestDigest(local.out));

    for (const text of [r.stdout, r.stderr, allImageBytes(r.out)]) assert.equal(text.includes(PASSWORD), false);
    assert.ok(server.requests.some((q) => q.authorization !== undefined), 'the server saw credentials');
  });

  it('checks out branches, tags, pull-request refs and commits', async (t) => {
    const base = `git://${server.host}/app.git`;
    assert.equal(await aTxt(t, `${base}#refs/heads/feature`), 'feature\n');
    assert.equal(await aTxt(t, `${base}#feature`), 'feature\n');
    assert.equal(await aTxt(t, `${base}#refs/tags/v1`), 'v1\n');
    assert.equal(await aTxt(t, `${base}#refs/pull/1/head`), 'pr\n');
    assert.equal(await aTxt(t, `${base}#refs/heads/main#${repos.commits.v1}`), 'v1\n');
    assert.equal(await aTxt(t, `${base}#${repos.commits.feature}`), 'feature\n');
    assert.equal(await aTxt(t, base, ['--git', 'branch=feature,single-branch=true']), 'feature\n');
  });

  it('takes an http URL ending in .git as a git context, with GIT_TOKEN and --context-sub-path', async (t) => {
    const tokenServer = await startGitServer({ user: { name: 'tok-abcdef123456', password: '' } });
    t.after(() => tokenServer.stop());
    createTestRepos(tokenServer.root, tokenServer.url);
    const r = await build(t, ['-c', `${tokenServer.url}/app.git#v1`, '--context-sub-path', 'dir'], { GIT_TOKEN: 'tok-abcdef123456' });
    assert.equal(r.status, 0, r.stderr);
    const files = await imageFiles(r.out);
    assert.equal(files.get('sub/b.txt')?.content, 'b\n');
    assert.deepEqual(tokenServer.requests.filter((q) => q.authorization !== undefined).map((q) => q.authorization).slice(0, 1),
      [`Basic ${Buffer.from('tok-abcdef123456:').toString('base64')}`]);
    assert.equal(r.stderr.includes('tok-abcdef123456'), false);
  });

  it('fetches over HTTPS (the default pull method) and skips TLS verification only with --git insecure-skip-tls=true', async (t) => {
    const certs = await testCertificates();
    const tlsServer = await startGitServer({ tls: { cert: fs.readFileSync(certs.serverCertFile, 'utf8'), key: fs.readFileSync(certs.serverKeyFile, 'utf8') } });
    t.after(() => tlsServer.stop());
    createTestRepos(tlsServer.root, tlsServer.url);
    const spec = `git://${tlsServer.host}/app.git#v1`;
    const refused = await build(t, ['-c', spec], {});
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /https:\/\/127\.0\.0\.1:\d+\/app\.git failed: .*(certificate|SSL)/i);
    const r = await build(t, ['-c', spec, '--git', 'insecure-skip-tls=true'], {});
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await imageFiles(r.out)).get('ctx/a.txt')?.content, 'v1\n');
  });

  it('fails with the URL and the cause on bad credentials, an unknown ref or repository, and leaves nothing behind', async (t) => {
    const tmp = tempDir(t, 'kiln-git-tmp-');
    const cases: [NodeJS.ProcessEnv, string, RegExp][] = [
      [{ ...auth, GIT_PASSWORD: 'wrong-Zz9-password' }, `git://${server.host}/app.git`, /Authentication failed[\s\S]*GIT_USERNAME/],
      [{ GIT_PULL_METHOD: 'http' }, `git://${server.host}/app.git`, /git fetch of HEAD from http:\/\/127\.0\.0\.1:\d+\/app\.git failed/],
      [auth, `git://${server.host}/app.git#no-such-branch`, /fetch of no-such-branch .*failed: .*couldn't find remote ref/],
      [auth, `git://${server.host}/missing.git`, /missing\.git failed/],
    ];
    for (const [env, spec, pattern] of cases) {
      for (const verbosity of ['info', 'trace']) {
        const r = await build(t, ['-c', spec, `--verbosity=${verbosity}`], { ...env, TMPDIR: tmp });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, pattern);
        for (const secret of [PASSWORD, 'wrong-Zz9-password']) assert.equal(r.stderr.includes(secret) || r.stdout.includes(secret), false, r.stderr);
      }
    }
    assert.deepEqual(fs.readdirSync(tmp), [], 'no temporary context left');
  });

  it('never puts the credentials on a command line', async (t) => {
    const out = path.join(tempDir(t, 'kiln-git-out-'), 'layout');
    const child = spawn(KILN, ['build', '--no-push', '--oci-layout-path', out, '-c', `git://${server.host}/app.git`, '--git', 'recurse-submodules=true'], {
      env: { ...process.env, ...auth }, stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    let running = true;
    void exited.then(() => { running = false; });
    const seen = new Set<string>();
    while (running) {
      for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        let cmdline = '';
        try {
          cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        if (cmdline.startsWith('git') || cmdline.includes('/git')) seen.add(cmdline.replaceAll('\0', ' '));
        assert.equal(cmdline.includes(PASSWORD), false, `pid ${pid}: ${cmdline}`);
        assert.equal(cmdline.includes(USER), false, `pid ${pid}: ${cmdline}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(await exited, 0);
    assert.ok(seen.size > 0, 'git processes were observed');
  });
});
