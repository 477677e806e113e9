import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gitAuthFromEnv, isGitSource, parseBuildkitGitSource, parseKanikoGitContext } from '../../../src/context/git-url.ts';
import { downloadFileName } from '../../../src/builder/copy/remote-source.ts';
import { gitEnvironment } from '../../../src/context/git-fetch.ts';

const SHA = '0123456789abcdef0123456789abcdef01234567';

test("kaniko's git contexts: git:// takes GIT_PULL_METHOD, #ref#commit, user info taken out of the URL", () => {
  assert.deepEqual(parseKanikoGitContext('git://github.com/org/repo.git', {}), { remote: 'https://github.com/org/repo.git' });
  assert.deepEqual(parseKanikoGitContext('git://github.com/org/repo.git#refs/heads/dev', { GIT_PULL_METHOD: 'http' }), { remote: 'http://github.com/org/repo.git', ref: 'refs/heads/dev' });
  assert.deepEqual(parseKanikoGitContext(`git://h/r.git#refs/pull/7/head#${SHA}`, { GIT_PULL_METHOD: 'bogus' }), { remote: 'https://h/r.git', ref: 'refs/pull/7/head', commit: SHA });
  assert.deepEqual(parseKanikoGitContext('https://u:p%40ss@h/r.git#v1', {}), { remote: 'https://h/r.git', ref: 'v1', auth: { username: 'u', password: 'p@ss' } });
  assert.throws(() => parseKanikoGitContext('git://h/r.git#a#b#c', {}), /at most two "#"/);
  assert.throws(() => parseKanikoGitContext('git://h/r.git#main#nope', {}), /"nope" is not a commit SHA/);
  assert.throws(() => parseKanikoGitContext('https://u:secret@h/r.git#a#b#c', {}), (err: Error) => !err.message.includes('secret'));
});

test("BuildKit's ADD git sources: detection, #ref:subdir", () => {
  for (const src of ['git@github.com:org/repo.git', 'git://h/r', 'ssh://git@h/r.git', 'https://h/r.git', 'https://h/r.git#v1:sub', 'http://h/r.git/']) assert.ok(isGitSource(src), src);
  for (const src of ['https://h/file.tar.gz', 'https://h/r.git.tar', 'http://h/x?y=.git', 'r.git']) assert.equal(isGitSource(src), false, src);
  assert.deepEqual(parseBuildkitGitSource('https://h/r.git#v1:docs/api/'), { remote: 'https://h/r.git', ref: 'v1', subdir: 'docs/api' });
  assert.deepEqual(parseBuildkitGitSource('https://h/r.git#:sub'), { remote: 'https://h/r.git', subdir: 'sub' });
  assert.deepEqual(parseBuildkitGitSource('git@h:o/r.git#main'), { remote: 'git@h:o/r.git', ref: 'main' });
  assert.throws(() => parseBuildkitGitSource('https://h/r.git#v1:../x'), /leaves the repository/);
});

test('credentials: GIT_TOKEN wins as the user name; they reach git through the environment only, scoped to the origin', () => {
  assert.deepEqual(gitAuthFromEnv({ GIT_TOKEN: 't', GIT_USERNAME: 'u', GIT_PASSWORD: 'p' }), { username: 't', password: '' });
  assert.deepEqual(gitAuthFromEnv({ GIT_USERNAME: 'u', GIT_PASSWORD: 'p' }), { username: 'u', password: 'p' });
  assert.equal(gitAuthFromEnv({}), undefined);
  const env = gitEnvironment({ location: { remote: 'https://h:8443/r.git' }, auth: { username: 'user', password: 'pw-secret' }, insecureSkipTls: true }, {});
  assert.equal(env.KILN_GIT_PASSWORD, 'pw-secret');
  const config = Object.fromEntries(Array.from({ length: Number(env.GIT_CONFIG_COUNT) }, (_, i) => [`${env[`GIT_CONFIG_KEY_${i}`]}#${i}`, env[`GIT_CONFIG_VALUE_${i}`]]));
  assert.ok(Object.keys(config).some((k) => k.startsWith('credential.https://h:8443.helper')));
  assert.ok(Object.values(config).every((v) => !String(v).includes('pw-secret')));
  assert.equal(config[`http.sslVerify#${Object.keys(config).length - 1}`], 'false');
  assert.equal(env.GIT_TERMINAL_PROMPT, '0');
});

test("ADD's file name for a URL is the path's last element, else __unnamed__", () => {
  assert.equal(downloadFileName('https://h/a/b/file.tar.gz?x=1#f'), 'file.tar.gz');
  assert.equal(downloadFileName('https://h/'), '__unnamed__');
  assert.equal(downloadFileName('https://h'), '__unnamed__');
  assert.equal(downloadFileName('https://h/a%20b'), 'a b');
  assert.equal(downloadFileName('https://h/a%2Fb'), 'a%2Fb');
});
