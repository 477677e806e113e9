/** Heredocs, with the expectations of BuildKit's parser_heredoc_test.go. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../../src/dockerfile/parser.ts';
import { dumpDockerfile } from '../../../src/dockerfile/dump.ts';
import { heredocMarkersInLine, parseHeredocMarker } from '../../../src/dockerfile/heredoc.ts';
import { KilnError } from '../../../src/errors.ts';
import type { Heredoc } from '../../../src/dockerfile/ast.ts';

const doc = (name: string, content: string, extra: Partial<Heredoc> = {}): Heredoc =>
  ({ name, content, expand: true, chomp: false, fileDescriptor: 0, ...extra });

describe('heredoc bodies', () => {
  const dockerfile = [
    'FROM alpine:3.6',
    'ENV NAME=me',
    'RUN ls',
    'USER <<INVALID',
    'LABEL INVALID=1',
    'RUN <<EMPTY',
    'EMPTY',
    'RUN 3<<EMPTY2',
    'EMPTY2',
    'RUN "<<NOHEREDOC"',
    'RUN <<INDENT',
    '\tfoo',
    '\tbar',
    'INDENT',
    'RUN <<-UNINDENT2',
    '\tbaz',
    '\t\tquux',
    '\tUNINDENT2',
    "RUN <<-'NOEXPAND'",
    "\tdon't expand $NAME",
    'NOEXPAND',
    'RUN <<COMMENT',
    '# internal comment',
    'echo foo bar # trailing comment',
    'COMMENT',
    'RUN --mount=type=cache,target=/foo <<MOUNT',
    'echo hello',
    'MOUNT',
    'COPY <<X <<Y /dest',
    'Y',
    'X',
    'X',
    'Y',
    'RUN <<COMPLEX python3',
    "print('hello world')",
    'COMPLEX',
    "RUN <<eo'f'",
    'echo foo',
    'eof',
    "RUN <<eo\\'f",
    'echo foo',
    "eo'f",
    "RUN <<'e'o\\'f",
    'echo foo',
    "eo'f",
    "RUN <<'one two'",
    'echo bar',
    'one two',
    'RUN <<$EOF',
    '$EOF',
    'RUN <<  EOF',
    'EOF',
    'RUN <<  EOF  > foo',
    'EOF',
    '',
  ].join('\n');
  const parsed = parseDockerfile(dockerfile);
  const byLine = new Map(parsed.instructions.map((n) => [n.startLine, n]));
  const heredocsAt = (line: number): Heredoc[] => {
    const n = byLine.get(line);
    assert.ok(n, `no instruction starts at line ${line}`);
    return n.heredocs;
  };

  test('only RUN, COPY and ADD take heredocs', () => {
    assert.deepEqual(heredocsAt(4), []);
    assert.equal(byLine.get(5)?.name, 'label'); // USER's would-be body line is an instruction of its own
  });

  test('empty bodies, file descriptors, quoted words that are not markers', () => {
    assert.deepEqual(heredocsAt(6), [doc('EMPTY', '')]);
    assert.deepEqual(heredocsAt(8), [doc('EMPTY2', '', { fileDescriptor: 3 })]);
    assert.deepEqual(heredocsAt(10), []);
  });

  test('bodies are verbatim; <<- strips leading tabs (also before the terminator)', () => {
    assert.deepEqual(heredocsAt(11), [doc('INDENT', '\tfoo\n\tbar\n')]);
    assert.deepEqual(heredocsAt(15), [doc('UNINDENT2', 'baz\nquux\n', { chomp: true })]);
    assert.deepEqual(heredocsAt(19), [doc('NOEXPAND', "don't expand $NAME\n", { chomp: true, expand: false })]);
    assert.deepEqual(heredocsAt(22), [doc('COMMENT', '# internal comment\necho foo bar # trailing comment\n')]);
  });

  test('flags before a heredoc, several heredocs read in order, words after the marker', () => {
    assert.deepEqual(heredocsAt(26), [doc('MOUNT', 'echo hello\n')]);
    assert.deepEqual(heredocsAt(29), [doc('X', 'Y\n'), doc('Y', 'X\n')]);
    assert.deepEqual(heredocsAt(34), [doc('COMPLEX', "print('hello world')\n")]);
  });

  test('quoting any part of the delimiter disables expansion; escaped quotes do not', () => {
    assert.deepEqual(heredocsAt(37), [doc('eof', 'echo foo\n', { expand: false })]);
    assert.deepEqual(heredocsAt(40), [doc("eo'f", 'echo foo\n')]);
    assert.deepEqual(heredocsAt(43), [doc("eo'f", 'echo foo\n', { expand: false })]);
    assert.deepEqual(heredocsAt(46), [doc('one two', 'echo bar\n', { expand: false })]);
  });

  test('variables in the delimiter stay as written; blanks after << are allowed', () => {
    assert.deepEqual(heredocsAt(49), [doc('$EOF', '')]);
    assert.deepEqual(heredocsAt(51), [doc('EOF', '')]);
    assert.deepEqual(heredocsAt(53), [doc('EOF', '')]);
  });

  test('lines of an instruction include its heredoc bodies; args and original exclude them', () => {
    const copy = byLine.get(29)!;
    assert.deepEqual([copy.startLine, copy.endLine], [29, 33]);
    assert.equal(copy.original, 'COPY <<X <<Y /dest');
    assert.deepEqual(copy.args, ['<<X', '<<Y', '/dest']);
    assert.equal(byLine.get(34)?.args[0], '<<COMPLEX python3');
  });
});

describe('heredoc placement', () => {
  test('exec-form instructions have no heredocs', () => {
    const parsed = parseDockerfile('FROM a\nRUN ["<<EOF"]\nRUN ["whoami"]\n');
    assert.deepEqual(parsed.instructions.map((n) => n.heredocs), [[], [], []]);
  });

  test('ONBUILD carries heredocs of its trigger on the ONBUILD node', () => {
    const parsed = parseDockerfile('FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\nONBUILD USER <<EOF\n');
    const onbuild = parsed.instructions[1];
    assert.deepEqual(onbuild.heredocs, [doc('EOF', 'echo hi\n')]);
    assert.deepEqual(onbuild.sub?.args, ['<<EOF']);
    assert.deepEqual([onbuild.startLine, onbuild.endLine], [2, 4]);
    assert.deepEqual(parsed.instructions[2].heredocs, []);
  });

  test('a heredoc after a continued line starts after its last line', () => {
    const parsed = parseDockerfile('FROM a\nRUN cat \\\n  <<EOF\nx\nEOF\nUSER b\n');
    assert.deepEqual(parsed.instructions[1].heredocs, [doc('EOF', 'x\n')]);
    assert.equal(parsed.instructions[2].startLine, 6);
  });

  test('bodies keep CRLF line ends; the terminator may end in CRLF', () => {
    const parsed = parseDockerfile('FROM a\r\nCOPY <<EOF /x\r\nline\r\nEOF\r\n');
    assert.deepEqual(parsed.instructions[1].heredocs, [doc('EOF', 'line\r\n')]);
  });

  test('a body line at end of file without newline is kept as is', () => {
    const parsed = parseDockerfile('FROM a\nRUN <<EOF\nlast\nEOF');
    assert.deepEqual(parsed.instructions[1].heredocs, [doc('EOF', 'last\n')]);
  });

  test('the dump shows heredoc markers as arguments, not bodies', () => {
    assert.equal(dumpDockerfile(parseDockerfile('FROM a\nCOPY <<A <<B /d\na\nA\nb\nB\n')), '(from "a")\n(copy "<<A" "<<B" "/d")\n');
  });

  test('an unterminated heredoc is an error at its instruction', () => {
    try {
      parseDockerfile('FROM a\nRUN <<EOF\necho\nEOFX\n', { file: 'Dockerfile' });
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof KilnError);
      assert.equal(err.message, 'unterminated heredoc');
      assert.equal(err.location?.line, 2);
    }
  });

  test('a heredoc that ends another\'s terminator line is consumed in order', () => {
    assert.throws(() => parseDockerfile('FROM a\nCOPY <<A <<B /d\nA\n'), /unterminated heredoc/);
  });
});

describe('heredoc markers', () => {
  test('valid markers', () => {
    for (const word of ['<<EOF', "<<'EOF'", '<<"EOF"', '<<-EOF', "<<-'EOF'", '<<-"EOF"', '<<EO"F"', '<< EOF', '<<- EOF']) {
      assert.equal(parseHeredocMarker(word)?.name, 'EOF', word);
    }
    // The delimiter is lexed alone, and Go's text/scanner drops a byte order mark at the start of its input.
    assert.equal(parseHeredocMarker('<<\uFEFFEOF')?.name, 'EOF');
  });

  test('malformed markers are errors', () => {
    for (const word of ["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"']) {
      assert.throws(() => parseHeredocMarker(word), /unexpected end of statement/, word);
    }
  });

  test('words that are not markers', () => {
    for (const word of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF', '<<EOF sh']) {
      assert.equal(parseHeredocMarker(word), undefined, word);
    }
  });

  test('markers found in a line', () => {
    const names = (line: string): string[] => heredocMarkersInLine(line).map((m) => m.name);
    assert.deepEqual(names('RUN <<EOF'), ['EOF']);
    // The lexer keeps blanks right after << in the word, not after <<-: BuildKit finds no marker here
    // (its own test of this line passes vacuously).
    assert.deepEqual(names('RUN <<- EOF'), []);
    assert.deepEqual(names('RUN << -EOF'), ['-EOF']);
    assert.deepEqual(names("RUN <<'EOF'"), ['EOF']);
    assert.deepEqual(names('RUN 4<<EOF'), ['EOF']);
    assert.deepEqual(names('RUN <<EOF <<EOF2'), ['EOF', 'EOF2']);
    assert.deepEqual(names("RUN '<<EOF'"), []);
    assert.deepEqual(names('RUN "<<EOF"'), []);
    assert.deepEqual(names('RUN echo "unterminated <<EOF'), []);
    // The shell lexer keeps `<<` and the blanks after it in one word, as BuildKit's does.
    assert.deepEqual(names('RUN cat << EOF > /x'), ['EOF']);
    assert.deepEqual(names('RUN cat <<\tEOF'), ['EOF']);
  });
});
