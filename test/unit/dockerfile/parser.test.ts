/** Line handling of the parser: directives, continuations, comments, BOM/CRLF, line numbers, errors. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../../src/dockerfile/parser.ts';
import { dumpDockerfile } from '../../../src/dockerfile/dump.ts';
import { KilnError } from '../../../src/errors.ts';

const dump = (text: string): string => dumpDockerfile(parseDockerfile(text));

function parseError(text: string, file = 'Dockerfile'): KilnError {
  try {
    parseDockerfile(text, { file });
  } catch (err) {
    assert.ok(err instanceof KilnError, `expected a KilnError, got ${String(err)}`);
    assert.equal(err.code, 'DOCKERFILE_PARSE');
    return err;
  }
  assert.fail('expected the parse to fail');
}

describe('parser directives', () => {
  test('syntax, escape and check are read from the leading comments, names case-insensitive', () => {
    const parsed = parseDockerfile('# syntax=docker/dockerfile:1\n#ESCAPE = `\n# Check=skip=all\n\nFROM a\n');
    assert.deepEqual(parsed.directives, [
      { name: 'syntax', value: 'docker/dockerfile:1', line: 1 },
      { name: 'escape', value: '`', line: 2 },
      { name: 'check', value: 'skip=all', line: 3 },
    ]);
    assert.equal(parsed.escapeToken, '`');
  });

  test('values are trimmed and keep their case', () => {
    const parsed = parseDockerfile('#  syntax  =  Docker/Dockerfile:1.7   \nFROM a\n');
    assert.deepEqual(parsed.directives, [{ name: 'syntax', value: 'Docker/Dockerfile:1.7', line: 1 }]);
  });

  test('a blank line, another comment or an instruction ends the directives', () => {
    assert.deepEqual(parseDockerfile('\n# escape=`\nFROM a\n').directives, []);
    assert.deepEqual(parseDockerfile('# hello\n# escape=`\nFROM a\n').directives, []);
    assert.deepEqual(parseDockerfile('FROM a\n# escape=`\n').directives, []);
    // An unknown directive-looking comment is just a comment, and ends the search too.
    const parsed = parseDockerfile('# foo=bar\n# escape=`\nFROM a\n');
    assert.deepEqual(parsed.directives, []);
    assert.equal(parsed.escapeToken, '\\');
  });

  test('directive comments do not become the first instruction\'s comments; other comments do', () => {
    const parsed = parseDockerfile('# syntax=x\n# the base\nFROM a\n');
    assert.deepEqual(parsed.instructions[0].prevComment, ['the base']);
  });

  test('a repeated directive is an error at its line', () => {
    const err = parseError('# escape=`\n# escape=\\\nFROM a\n');
    assert.match(err.message, /only one escape parser directive can be used/);
    assert.equal(err.location?.line, 2);
  });

  test('an escape other than backslash or backtick is an error', () => {
    const err = parseError('# escape=x\nFROM a\n');
    assert.match(err.message, /invalid escape token 'x' does not match ` or \\/);
    assert.equal(err.location?.line, 1);
  });

  test('the backtick escape continues lines and leaves backslashes alone', () => {
    assert.equal(dump('# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo hi\n'), '(from "a")\n(run "dir c:\\\\   && echo hi")\n');
  });
});

describe('line continuations', () => {
  test('continued lines are joined without the escape, keeping their leading blanks', () => {
    assert.equal(dump('RUN a \\\n  b \\\n\tc\n'), '(run "a   b \\tc")\n');
  });

  test('comment lines inside a continuation are skipped silently', () => {
    const parsed = parseDockerfile('RUN a \\\n# comment\n  # indented comment\n b\n');
    assert.equal(parsed.instructions[0].args[0], 'a  b');
    assert.deepEqual(parsed.warnings, []);
  });

  test('empty continuation lines are skipped with a warning', () => {
    const parsed = parseDockerfile('FROM a\nRUN a \\\n\n   \n b\n');
    assert.equal(parsed.instructions[1].args[0], 'a  b');
    assert.deepEqual(parsed.warnings, [{ message: 'Empty continuation line found in: RUN a  b', line: 5 }]);
  });

  test('a continuation at end of file ends the instruction', () => {
    assert.equal(dump('FROM a\nRUN x \\'), '(from "a")\n(run "x")\n');
  });

  test('an escaped escape at the end of a line is not a continuation', () => {
    assert.equal(dump('ENV A b\\\\\nENV C d\n'), '(env "A" "b\\\\\\\\" "")\n(env "C" "d" "")\n');
  });

  test('an escape alone on a line continues', () => {
    assert.equal(dump('RUN a\\\n\\\nb\n'), '(run "ab")\n');
  });

  test('start and end lines cover the continued lines', () => {
    const parsed = parseDockerfile('\nFROM a\nRUN a \\\n\n  b \\\n  c\nUSER x\n');
    assert.deepEqual(parsed.instructions.map((n) => [n.startLine, n.endLine]), [[2, 2], [3, 6], [7, 7]]);
  });

  test('original is the joined line without continuations', () => {
    const parsed = parseDockerfile('  RUN   a \\\n  b\n');
    assert.equal(parsed.instructions[0].original, 'RUN   a   b');
  });
});

describe('comments, BOM, line ends, names', () => {
  test('comment lines collect as prevComment; a lone # resets them', () => {
    const parsed = parseDockerfile('FROM a\n# one\n#two\nRUN x\n# dropped\n#\n# kept\nRUN y\n');
    assert.deepEqual(parsed.instructions[1].prevComment, ['one', 'two']);
    assert.deepEqual(parsed.instructions[2].prevComment, ['kept']);
  });

  test('a UTF-8 byte order mark is ignored', () => {
    const parsed = parseDockerfile('\ufeff# escape=`\nFROM a\n');
    assert.equal(parsed.escapeToken, '`');
    assert.equal(dumpDockerfile(parsed), '(from "a")\n');
  });

  test('CRLF line ends are handled like LF', () => {
    assert.equal(dump('FROM a\r\nRUN b \\\r\n  c\r\n\r\nCMD ["x"]\r\n'), '(from "a")\n(run "b   c")\n(cmd "x")\n');
  });

  test('instruction names are case-insensitive and dumped in lower case', () => {
    const parsed = parseDockerfile('from a\nRuN b\nCoPy x y\n');
    assert.deepEqual(parsed.instructions.map((n) => n.name), ['from', 'run', 'copy']);
    assert.equal(parsed.instructions[1].original, 'RuN b');
  });

  test('leading blanks before an instruction are ignored', () => {
    assert.equal(dump('   \t FROM a\n'), '(from "a")\n');
  });
});

describe('parse errors', () => {
  test('an empty Dockerfile or one with only comments has no instructions', () => {
    assert.match(parseError('').message, /file with no instructions/);
    assert.match(parseError('# just\n\n# comments\n').message, /file with no instructions/);
  });

  test('an unknown instruction names itself, with its line and a suggestion', () => {
    const err = parseError('FROM a\n\nRUNN echo\n', 'sub/Dockerfile.dev');
    assert.equal(err.message, 'unknown instruction: RUNN');
    assert.deepEqual(err.location, { file: 'sub/Dockerfile.dev', line: 3, text: 'RUNN echo' });
    assert.equal(err.hint, 'did you mean RUN?');
    assert.match(err.describe(), /^error: sub\/Dockerfile.dev:3: unknown instruction: RUNN$/m);
  });

  test('ENV without a value', () => {
    const err = parseError('FROM a\nENV PATH\n');
    assert.equal(err.message, 'ENV must have two arguments');
    assert.equal(err.location?.line, 2);
  });

  test('key=value form with a bare word', () => {
    assert.equal(
      parseError('FROM a\nLABEL a=b c\n').message,
      'Syntax error - can\'t find = in "c". Must be of the form: name=value',
    );
  });

  test('JSON arrays must hold only strings', () => {
    const err = parseError('FROM a\nCMD ["a", 1]\n');
    assert.equal(err.message, 'when using JSON array syntax, arrays must be comprised of strings only');
    assert.equal(parseError('FROM a\nCOPY ["a", ["b"]]\n').message, err.message);
  });

  test('errors in a continued instruction point at its first line', () => {
    assert.equal(parseError('FROM a\nENV \\\n  PATH\n').location?.line, 2);
  });

  test('over-long lines stop the parse as BuildKit\'s scanner does', () => {
    const err = parseError(`FROM a\nRUN ${'x'.repeat(70000)}\n`);
    assert.match(err.message, /dockerfile line greater than max allowed size of 65535/);
    assert.equal(err.location?.line, 2);
  });
});
