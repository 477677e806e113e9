/** Quotes, escape tokens, word splitting, the Lex option flags and error messages. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShellExpansionError, processWord, processWords } from '../../../src/dockerfile/shell/index.ts';
import { goQuote } from '../../../src/dockerfile/shell/errors.ts';

const E = new Map([['A', 'a'], ['SP', ' x  y '], ['EMPTY', '']]);

test('single quotes keep everything literal, double quotes expand $ only', () => {
  assert.equal(processWord(`'$A \\n "q"'`, E), '$A \\n "q"');
  assert.equal(processWord(`"$A \\n 'q' \\" \\$A \\\\"`, E), `a \\n 'q' " $A \\`);
  assert.equal(processWord(`a'b'"c"d`, E), 'abcd');
});

test('outside quotes the escape token escapes any character and a trailing one is dropped', () => {
  assert.equal(processWord('\\$A\\ \\a\\\\', E), '$A a\\');
  assert.equal(processWord('end\\', E), 'end');
  assert.equal(processWord('"end\\\\"', E), 'end\\');
});

test('the backtick escape token replaces the backslash', () => {
  const o = { escapeToken: '`' } as const;
  assert.equal(processWord('C:\\dir\\$A `$A `` x`', E, o), 'C:\\dir\\a $A ` x');
  assert.equal(processWord('"C:\\dir `"q`" `$A `x"', E, o), 'C:\\dir "q" $A `x');
  assert.equal(processWord('${A:-`}}', E, o), 'a');
  assert.equal(processWord('${Z:-`}}', E, o), '}');
});

test('processWords splits on unquoted blanks, including those from values', () => {
  assert.deepEqual(processWords('  a  b\tc\n', E), ['a', 'b', 'c']);
  assert.deepEqual(processWords('x$SP', E), ['x', 'x', 'y']);
  assert.deepEqual(processWords('"x$SP"', E), ['x x  y ']);
  assert.deepEqual(processWords('a\\ b "c d" \'e f\'', E), ['a b', 'c d', 'e f']);
  assert.deepEqual(processWords('80/tcp ${A}43', E), ['80/tcp', 'a43']);
  assert.deepEqual(processWords('$EMPTY "" \'\'', E), []);
  assert.deepEqual(processWords('', E), []);
  // Unicode blanks split too, as Go's unicode.IsSpace.
  assert.deepEqual(processWords('a\u00a0b\u3000c', E), ['a', 'b', 'c']);
});

test('processWord keeps blanks', () => {
  assert.equal(processWord('  a  $SP ', E), '  a   x  y  ');
});

test('rawQuotes keeps the quote characters', () => {
  assert.equal(processWord(`"$A b" 'c $A'`, E, { rawQuotes: true }), `"a b" 'c $A'`);
  assert.deepEqual(processWords(`x"$A b"`, E, { rawQuotes: true }), ['x"a b"']);
});

test('rawEscapes keeps the escape tokens', () => {
  assert.equal(processWord('a\\ b\\$A', E, { rawEscapes: true }), 'a\\ b\\$A');
  assert.equal(processWord('"\\"x\\$A"', E, { rawEscapes: true }), '\\"x\\$A');
  // BuildKit doubles a backslash that escapes nothing inside double quotes in this mode.
  assert.equal(processWord('"\\t"', E, { rawEscapes: true }), '\\\\t');
  // Default words of ${} are read without raw escapes, patterns always with them.
  assert.equal(processWord('${Z:-\\x}', E, { rawEscapes: true }), 'x');
});

test('skipUnsetEnv leaves references to unset variables as written', () => {
  const o = { skipUnsetEnv: true };
  assert.equal(processWord('$A $Z ${Z} ${Z:-d} ${Z-d} ${Z:+p} ${Z?m} ${Z#p} ${Z##p} ${Z/p/r} ${Z//p/r}', E, o),
    // BuildKit writes a skipped ${Z//p/r} back with a single slash.
    'a $Z ${Z} ${Z:-d} ${Z-d} ${Z:+p} ${Z?m} ${Z#p} ${Z##p} ${Z/p/r} ${Z/p/r}');
  assert.equal(processWord('${A:-d} ${EMPTY:-d} ${Z:-$A}', E, o), 'a d ${Z:-a}');
});

test('skipProcessQuotes treats quotes as ordinary characters', () => {
  const o = { skipProcessQuotes: true };
  assert.equal(processWord(`"$A" '$A'`, E, o), `"a" 'a'`);
  assert.deepEqual(processWords(`"a b"`, E, o), ['"a', 'b"']);
  assert.equal(processWord(`it's`, E, o), `it's`);
});

const errors: Array<[string, string]> = [
  ['${}', 'syntax error: bad substitution'],
  ['${:-x}', 'syntax error: bad substitution'],
  ['${{A}', 'syntax error: bad substitution'],
  ['${', "syntax error: missing '}'"],
  ['${A', 'unsupported modifier (\uFFFD) in substitution'],
  ['${A:-x', "syntax error: missing '}'"],
  ['${A/x', "syntax error: missing '/' in ${}"],
  ['${A/x/y', "syntax error: missing '}'"],
  ['${.}', 'unsupported modifier (.) in substitution'],
  ['${A:=x}', 'unsupported modifier (:=) in substitution'],
  ['${#A}', 'unsupported modifier (A) in substitution'],
  ['${Z?}', 'Z: is not allowed to be unset'],
  ['${EMPTY:?}', 'EMPTY: is not allowed to be empty'],
  ['${Z:?set Z to $A}', 'Z: set Z to a'],
  ['"abc', 'unexpected end of statement while looking for matching double-quote'],
  ["'abc", 'unexpected end of statement while looking for matching single-quote'],
  // An error met at the end of the input inside ${} is reported as the missing brace.
  ['${A:-"}', "syntax error: missing '}'"],
  ['${A:-"}"', "syntax error: missing '}'"],
  ['${A:-${Z?inner}}', 'Z: inner'],
  ['${A#\\q}', "invalid pattern (\\q) in substitution: invalid escape '\\q'"],
];

for (const [word, reason] of errors) {
  test(`${word} fails: ${reason}`, () => {
    assert.throws(() => processWord(word, E), (err: unknown) => {
      assert.ok(err instanceof ShellExpansionError);
      assert.equal(err.reason, reason);
      assert.equal(err.word, word);
      assert.equal(err.message, `failed to process ${goQuote(word)}: ${reason}`);
      return true;
    });
  });
}

test('error messages quote the word as Go\'s %q', () => {
  assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goQuote('tab\there\nnul\x00\x7f'), '"tab\\there\\nnul\\x00\\x7f"');
  assert.equal(goQuote('한국어 👽'), '"한국어 👽"');
  assert.equal(goQuote('\u200b\u{e0001}'), '"\\u200b\\U000e0001"');
});

test('a byte order mark at the very start of a word is dropped, elsewhere kept (Go text/scanner)', () => {
  assert.equal(processWord('\uFEFFa\uFEFF', E), 'a\uFEFF');
});
