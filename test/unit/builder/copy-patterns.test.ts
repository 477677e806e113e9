import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadPatternError, containsWildcards, goPathMatch } from '../../../src/fs/patterns/go-path-match.ts';
import { InvalidPatternError, PatternMatcher } from '../../../src/fs/patterns/pattern-matcher.ts';
import { splitWildcards } from '../../../src/builder/copy/wildcards.ts';

describe("Go's filepath.Match", () => {
  // From Go's path/filepath match_test.go (unix rows).
  const table: Array<[string, string, boolean | 'bad']> = [
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*', 'abc', true],
    ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true],
    ['a*/b', 'a/c/b', false],
    ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[c]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false],
    ['ab[^b-d]', 'abc', false],
    ['ab[^e-g]', 'abc', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true],
    ['a[^a]b', 'a☺b', true],
    ['a???b', 'a☺b', false],
    ['a[^a][^a][^a]b', 'a☺b', false],
    ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false],
    ['a?b', 'a/b', false],
    ['a*b', 'a/b', false],
    ['[\\]a]', ']', true],
    ['[\\-]', '-', true],
    ['[x\\-]', 'x', true],
    ['[x\\-]', '-', true],
    ['[x\\-]', 'z', false],
    ['[\\-x]', 'x', true],
    ['[]a]', ']', 'bad'],
    ['[-]', '-', 'bad'],
    ['[x-]', 'x', 'bad'],
    ['[a-b-c]', 'a', 'bad'],
    ['[', 'a', 'bad'],
    ['[^', 'a', 'bad'],
    ['[^bc', 'a', 'bad'],
    ['a[', 'a', 'bad'],
    ['a[', 'ab', 'bad'],
    ['a[', 'x', 'bad'],
    ['a/b[', 'x', 'bad'],
    ['*x', 'xxx', true],
  ];
  for (const [pattern, name, expected] of table) {
    it(`${pattern} vs ${name}`, () => {
      if (expected === 'bad') assert.throws(() => goPathMatch(pattern, name), BadPatternError);
      else assert.equal(goPathMatch(pattern, name), expected);
    });
  }

  it('detects wildcards, skipping escaped characters', () => {
    assert.equal(containsWildcards('foo'), false);
    assert.equal(containsWildcards('f*o'), true);
    assert.equal(containsWildcards('f\\*o'), false);
    assert.equal(containsWildcards('[ab]'), true);
  });

  it('splits a source at its first wildcard segment', () => {
    assert.deepEqual(splitWildcards('/sub/*/dir2/foo'), { base: '/sub', pattern: '*/dir2/foo' });
    assert.deepEqual(splitWildcards('/*.go'), { base: '/', pattern: '*.go' });
    assert.deepEqual(splitWildcards('/sub/dir1/'), { base: '/sub/dir1', pattern: '' });
    assert.deepEqual(splitWildcards('/sub/dir1/.'), { base: '/sub/dir1', pattern: '' });
  });
});

describe('patternmatcher (--exclude / --parents)', () => {
  const matches = (patterns: string[], path: string): boolean => new PatternMatcher(patterns).match(path, []).matched;

  it('matches a path or any of its parents', () => {
    assert.equal(matches(['dir'], 'dir/file'), true);
    assert.equal(matches(['*.txt'], 'a.txt'), true);
    assert.equal(matches(['*.txt'], 'sub/a.txt'), false);
    assert.equal(matches(['**/*.txt'], 'sub/deep/a.txt'), true);
    assert.equal(matches(['**/*.txt'], 'a.txt'), true);
    assert.equal(matches(['sub/**'], 'sub/x/y'), true);
    assert.equal(matches(['**'], 'anything/at/all'), true);
    assert.equal(matches(['a/**/b'], 'a/b'), true);
    assert.equal(matches(['a/**/b'], 'a/x/y/b'), true);
    assert.equal(matches(['./dir/'], 'dir/x'), true);
  });

  it('lets later negations win', () => {
    assert.equal(matches(['*.md', '!README.md'], 'README.md'), false);
    assert.equal(matches(['*.md', '!README.md'], 'CHANGES.md'), true);
    assert.equal(matches(['dir', '!dir/keep'], 'dir/keep'), false);
    assert.equal(matches(['dir', '!dir/keep'], 'dir/other'), true);
  });

  it('uses the parent directory results when walking', () => {
    const pm = new PatternMatcher(['foo1/foo2']);
    const top = pm.match('foo1', []);
    assert.equal(top.matched, false);
    const mid = pm.match('foo1/foo2', top.parents);
    assert.equal(mid.matched, true);
    assert.equal(pm.match('foo1/foo2/bar', mid.parents).matched, true);
  });

  it('rejects malformed patterns', () => {
    assert.throws(() => new PatternMatcher(['!']));
    assert.throws(() => new PatternMatcher(['[']), InvalidPatternError);
  });
});

describe('linear-time regexp (the Go RE2 subset patternmatcher generates)', async () => {
  const { compileLinearRegexp, RegexpSyntaxError } = await import('../../../src/fs/patterns/linear-regexp.ts');

  it('agrees with a backtracking engine on generated expressions', () => {
    const atoms = ['a', 'b', '/', '[^/]*', '[^/]', '(.*/)?', '.*', '[ab]', '[a-c]', '\\.', '.', 'a+', '[[:digit:]]', '\\d'];
    const texts = ['', 'a', 'b', 'ab', 'a/b', 'aab/', 'a.b', 'c1', '/a/b/', 'ba\nb', 'abc/abc', '9'];
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 400; i++) {
      const source = Array.from({ length: 1 + next(4) }, () => atoms[next(atoms.length)]).join('');
      const linear = compileLinearRegexp(source);
      const reference = new RegExp(`^(?:${source.replaceAll('\\d', '[0-9]').replaceAll('[[:digit:]]', '[0-9]')})$`, 'u');
      for (const text of texts) assert.equal(linear(text), reference.test(text), `${source} vs ${JSON.stringify(text)}`);
    }
  });

  it('rejects what Go rejects or the subset does not cover', () => {
    for (const bad of ['[a', 'a**', '*a', '[z-a]', '\\q', '(a', 'a)', 'a|b', '\\']) {
      assert.throws(() => compileLinearRegexp(bad), RegexpSyntaxError, bad);
    }
  });

  it('handles the expressions a pattern with odd classes produces', () => {
    // `[*]` becomes `[[^/]*]`: the class {[, ^, /} repeated, then a literal ].
    assert.equal(new PatternMatcher(['[*]']).match('[^/]', []).matched, true);
    assert.equal(new PatternMatcher(['[*]']).match('a', []).matched, false);
    assert.equal(new PatternMatcher(['a\\.b']).match('a.b', []).matched, true);
    assert.equal(new PatternMatcher(['a\\.b']).match('axb', []).matched, false);
  });
});
