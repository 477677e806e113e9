import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../../../src/errors.ts';
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
  assert.deepEqual(readIgnoreRules(root, dockerfile), { file: path.join(root, '.dockerignore'), patterns: ['from-context'], lines: [1] });
  fs.writeFileSync(`${dockerfile}.dockerignore`, '# comment\n\nfrom-dockerfile\n');
  assert.deepEqual(readIgnoreRules(root, dockerfile), { file: `${dockerfile}.dockerignore`, patterns: ['from-dockerfile'], lines: [3] });
  // A Dockerfile from stdin has no per-Dockerfile file.
  assert.deepEqual(readIgnoreRules(root, undefined).patterns, ['from-context']);
});

test("ReadAll cleans each pattern: '!' with blanks, leading '/', '..' and trailing '/'", () => {
  assert.deepEqual(parseIgnoreFile('/build/\n! /keep/../kept\n./a//b/\n/\n'), ['build', '!kept', 'a/b', '/']);
});

test('matching is case-sensitive, as Docker on Linux', () => {
  const m = new IgnoreMatcher(['*.LOG', 'Secret']);
  assert.equal(m.isIncluded('a.log'), true);
  assert.equal(m.isIncluded('a.LOG'), false);
  assert.equal(m.isIncluded('secret'), true);
  assert.equal(m.isIncluded('Secret/x'), false);
});

test('bracket classes work as in Docker (Go regexp), and malformed patterns are errors naming the file and line', () => {
  const m = new IgnoreMatcher(['file[0-9].txt', 'x[^a]y']);
  assert.equal(m.isIncluded('file1.txt'), false);
  assert.equal(m.isIncluded('filea.txt'), true);
  // moby escapes '^' before handing the class to Go's regexp: [^a] is the set {^, a}, not a negation.
  assert.equal(m.isIncluded('x^y'), false);
  assert.equal(m.isIncluded('xby'), true);
  for (const bad of ['[', 'a[b', '[]a]', '!']) {
    assert.throws(
      () => new IgnoreMatcher(['ok', bad], { file: '/ctx/.dockerignore', lines: [1, 4] }),
      (err: unknown) => {
        assert.ok(err instanceof KilnError, String(err));
        assert.equal(err.code, 'DOCKERIGNORE_INVALID_PATTERN');
        assert.match(err.message, /\.dockerignore/);
        assert.deepEqual(err.location, { file: '.dockerignore', line: 4 });
        return true;
      },
      bad,
    );
  }
});

test('matching takes linear time: a backtracking pattern against a long name finishes', () => {
  // In a child process, so that a matcher that blocks the event loop fails the test instead of hanging it.
  const script = `
    import { IgnoreMatcher } from ${JSON.stringify(new URL('../../../src/context/dockerignore.ts', import.meta.url).href)};
    const m = new IgnoreMatcher(['*a*a*a*a*a*a*a*a*a*a*a*ab', '**/*a*a*a*a*a*a*a*a*a*a*a*ab']);
    // Found by npm run fuzz: hundreds of **/ in a row (each one more set of matcher threads).
    const deep = new IgnoreMatcher(['.do' + '**/'.repeat(500) + '*../*' + '**/'.repeat(200) + 'x']);
    const results = [m.isIncluded('a'.repeat(200)), m.isIncluded('d/' + 'a'.repeat(4000)), m.isIncluded('a'.repeat(300) + 'b'),
      deep.isIncluded('d/' + 'a'.repeat(2000) + 'b'), deep.isIncluded('.doa/b../c/x')];
    console.log(JSON.stringify(results));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, 'the matcher did not finish within a minute');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [true, true, false, true, false]);
});
