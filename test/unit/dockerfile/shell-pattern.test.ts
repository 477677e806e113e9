/** Shell patterns of ${V#p} ${V%p} ${V/p/r}: conversion, reversal and Go-regexp matching rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processWord } from '../../../src/dockerfile/shell/index.ts';
import {
  expandTemplate, replaceAll, replaceFirst, reversePattern, reverseRunes, shellPatternToRegExp, trimPrefix, trimSuffix,
} from '../../../src/dockerfile/shell/glob-pattern.ts';
import { LexFailure } from '../../../src/dockerfile/shell/errors.ts';

test('pattern conversion escapes regex syntax and maps * and ?', () => {
  assert.equal(shellPatternToRegExp('*', true, true).source, '^[^\\n]*');
  assert.equal(shellPatternToRegExp('*', false, true).source, '^[^\\n]*?');
  assert.equal(shellPatternToRegExp('?', true, true).source, '^[^\\n]');
  assert.equal(shellPatternToRegExp('\\*', true, true).source, '^\\*');
  assert.equal(shellPatternToRegExp('(()[]{\\}^$.\\*\\?|\\\\', true, true).source, '^\\(\\(\\)\\[\\]\\{\\}\\^\\$\\.\\*\\?\\|\\\\');
  assert.equal(shellPatternToRegExp('a\\/b', true, false).source, 'a\\/b');
});

test('invalid escapes are rejected with BuildKit\'s message', () => {
  for (const p of ['\\', '\\x', '\\\\\\']) assert.throws(() => shellPatternToRegExp(p, true, true), LexFailure);
  assert.throws(() => shellPatternToRegExp('a\\x', true, true), { message: "invalid pattern (a\\x) in substitution: invalid escape '\\x'" });
});

test('brackets are literal characters, not bracket expressions (as BuildKit)', () => {
  assert.equal(trimPrefix('[ab]', 'abc', false), 'abc');
  assert.equal(trimPrefix('[ab]', '[ab]c', false), 'c');
  assert.equal(processWord('${V/[0-9]/#}', new Map([['V', 'a1[0-9]']])), 'a1#');
});

test('reversePattern keeps escape pairs in order', () => {
  const cases: Record<string, string> = {
    'a\\*c': 'c\\*a', '\\\\\\ab': 'b\\a\\\\', 'ab\\': '\\ba', '👽\\🚀🖖': '🖖\\🚀👽', '\\\\b': 'b\\\\',
  };
  for (const [pattern, expected] of Object.entries(cases)) assert.equal(reversePattern(pattern), expected);
  assert.equal(reverseRunes('🖖🚀👽'), '👽🚀🖖');
});

test('# and ## take the shortest and longest prefix, % and %% the suffix', () => {
  const v = 'a/b/c.tar.gz';
  assert.equal(trimPrefix('*/', v, false), 'b/c.tar.gz');
  assert.equal(trimPrefix('*/', v, true), 'c.tar.gz');
  assert.equal(trimSuffix('.*', v, false), 'a/b/c.tar');
  assert.equal(trimSuffix('.*', v, true), 'a/b/c');
  assert.equal(trimSuffix('x', v, false), v);
  const e = new Map([['V', v]]);
  assert.equal(processWord('${V#*/}|${V##*/}|${V%.*}|${V%%.*}', e), 'b/c.tar.gz|c.tar.gz|a/b/c.tar|a/b/c');
});

test('? matches one code point, also outside the BMP', () => {
  const e = new Map([['K', '한국어'], ['E', '👽🚀🖖']]);
  assert.equal(processWord('${K#?}|${K%?}|${E#?}|${E%??}|${E/?/x}', e), '국어|한국|🚀🖖|👽|x🚀🖖');
});

test('wildcards never cross a newline, like Go\'s regexp .', () => {
  const e = new Map([['V', 'a\nb\nc']]);
  assert.equal(processWord('${V##*}', e), '\nb\nc');
  assert.equal(processWord('${V%%*}', e), 'a\nb\n');
  assert.equal(processWord('${V//?/x}', e), 'x\nx\nx');
});

test('/ replaces the first leftmost-longest match, // all of them', () => {
  assert.equal(replaceFirst('b*', 'abbcbb', '-'), 'a-');
  assert.equal(replaceFirst('b', 'abbcbb', '-'), 'a-bcbb');
  assert.equal(replaceAll('b', 'abbcbb', '-'), 'a--c--');
  assert.equal(replaceFirst('z', 'abc', '-'), 'abc');
});

test('// skips an empty match right after a match, as Go\'s ReplaceAllString', () => {
  assert.equal(replaceAll('*', 'xxyy', '-'), '-');
  assert.equal(replaceAll('', 'xy', '-'), '-x-y-');
  assert.equal(replaceAll('', '', '-'), '-');
  assert.equal(replaceAll('', '👽', '-'), '-👽-');
});

test('// treats the replacement as a Go template, / takes it literally', () => {
  assert.equal(expandTemplate('[$0|${0}|$$|$1|${x}|$|${|$00]', 'M'), '[M|M|$|||$|${|]');
  assert.equal(replaceAll('b', 'abc', '<$0>'), 'a<b>c');
  assert.equal(replaceFirst('b', 'abc', '<$0>'), 'a<$0>c');
  // Through the lexer a `$` must be escaped to reach the template at all.
  assert.equal(processWord('${V//b/<\\$0>}|${V/b/<\\$0>}', new Map([['V', 'abc']])), 'a<\\b>c|a<\\$0>c');
});

test('an escaped } or / ends no part and is matched literally', () => {
  const e = new Map([['V', 'a}b/c']]);
  assert.equal(processWord('${V#*\\}}', e), 'b/c');
  assert.equal(processWord('${V/\\//-}', e), 'a}b-c');
  assert.equal(processWord('${V%\\/*}', e), 'a}b');
});

test('${V:#p} and ${V:%p} are unsupported', () => {
  const e = new Map([['V', 'abc']]);
  assert.throws(() => processWord('${V:#a}', e), { message: 'failed to process "${V:#a}": unsupported modifier (:#) in substitution' });
  assert.throws(() => processWord('${V:%c}', e), /unsupported modifier \(:%\)/);
});
