import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IgnoreMatcher, normalizeRelPath, parseIgnoreFile, readIgnoreRules } from '../../../src/context/dockerignore.ts';

test('ignore files: comments, blank lines and surrounding spaces dropped', () => {
  assert.deepEqual(parseIgnoreFile('\uFEFF# comment\n\n  node_modules  \r\n*.log\n !keep.log\n#x\n'), ['node_modules', '*.log', '!keep.log']);
});

test("Docker's matching rules", () => {
  const m = new IgnoreMatcher(['**/*.log', '!keep.log', '/build', './dist/', 'docs/**/*.md', 'tmp', '!tmp/keep', '*/secret?.txt']);
  const cases: Array<[string, boolean]> = [
    ['a.log', false], ['deep/dir/a.log', false], ['keep.log', true], ['sub/keep.log', false],
    ['build', false], ['build/out.bin', false], ['src/build', true],
    ['dist', false], ['dist/app.js', false],
    ['docs/a.md', false], ['docs/x/y/a.md', false], ['docs/a.txt', true],
    ['tmp', false], ['tmp/x', false], ['tmp/keep', true], ['tmp/keep/inner', true],
    ['dir/secret1.txt', false], ['secret1.txt', true], ['dir/sub/secret1.txt', true],
    ['src/main.go', true], ['', true], ['.', true],
  ];
  for (const [p, included] of cases) assert.equal(m.isIncluded(p), included, p);
  assert.equal(m.hasExceptions, true);
  // Spellings of the same path agree.
  for (const p of ['./build/x', '/build/x', 'build//x/']) assert.equal(m.isIncluded(p), false, p);
  assert.equal(normalizeRelPath('./a//b/'), 'a/b');
});

test('no patterns: everything is included; the last matching pattern wins', () => {
  assert.equal(new IgnoreMatcher([]).isIncluded('anything/at/all'), true);
  const m = new IgnoreMatcher(['*.md', '!README.md', 'README.md']);
  assert.equal(m.isIncluded('README.md'), false);
  assert.equal(new IgnoreMatcher(['*', '!src']).isIncluded('src/a.ts'), true);
});

test('<Dockerfile>.dockerignore wins over the context .dockerignore', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ignore-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'docker'));
  const dockerfile = path.join(root, 'docker', 'app.Dockerfile');
  fs.writeFileSync(dockerfile, 'FROM scratch\n');
  assert.deepEqual(readIgnoreRules(root, dockerfile), { patterns: [] });
  fs.writeFileSync(path.join(root, '.dockerignore'), 'from-context\n');
  assert.deepEqual(readIgnoreRules(root, dockerfile), { file: path.join(root, '.dockerignore'), patterns: ['from-context'] });
  fs.writeFileSync(`${dockerfile}.dockerignore`, 'from-dockerfile\n');
  assert.deepEqual(readIgnoreRules(root, dockerfile), { file: `${dockerfile}.dockerignore`, patterns: ['from-dockerfile'] });
  // A Dockerfile from stdin has no per-Dockerfile file.
  assert.deepEqual(readIgnoreRules(root, undefined).patterns, ['from-context']);
});
