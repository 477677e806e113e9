/** Per-instruction argument reading (BuildKit's dispatch table), flags, and the dump format's quoting. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../../src/dockerfile/parser.ts';
import { dumpDockerfile, dumpNode } from '../../../src/dockerfile/dump.ts';
import { extractBuilderFlags } from '../../../src/dockerfile/parser/split-command.ts';
import { goQuote } from '../../../src/dockerfile/parser/go-text.ts';
import type { InstructionNode } from '../../../src/dockerfile/ast.ts';

const node = (line: string): InstructionNode => parseDockerfile(`${line}\n`).instructions[0];
const dumpLine = (line: string): string => dumpNode(node(line));

describe('instruction flags', () => {
  test('leading --flags are collected in order, repeated ones kept', () => {
    const n = node('RUN --mount=type=cache,target=/a --mount=type=secret,id=x --network=none make');
    assert.deepEqual(n.flags, ['--mount=type=cache,target=/a', '--mount=type=secret,id=x', '--network=none']);
    assert.deepEqual(n.args, ['make']);
  });

  test('flags stop at the first word that does not start with --, or after a bare --', () => {
    assert.deepEqual(node('COPY --from=build -- --odd /dst').flags, ['--from=build']);
    assert.deepEqual(node('COPY --from=build -- --odd /dst').args, ['--odd', '/dst']);
    assert.deepEqual(node('COPY -x --from=a b c').flags, []);
    assert.deepEqual(node('COPY -x --from=a b c').args, ['-x', '--from=a', 'b', 'c']);
  });

  test('quotes and backslashes inside flags are removed', () => {
    assert.deepEqual(node('COPY --chown="my user" --chmod=\'755\' --x=a\\ b s d').flags,
      ['--chown=my user', '--chmod=755', '--x=a b']);
  });

  test('a flag-only line keeps its flags and has no arguments', () => {
    assert.equal(dumpLine('CMD --doit -- [ ]'), 'cmd ["--doit"]');
    assert.deepEqual(extractBuilderFlags('--a --b'), { rest: '', flags: ['--a', '--b'] });
  });

  test('flags of an ONBUILD trigger belong to the trigger', () => {
    assert.equal(dumpLine('ONBUILD COPY --from=b x y'), 'onbuild (copy ["--from=b"] "x" "y")');
  });
});

describe('argument forms per instruction', () => {
  test('FROM and EXPOSE: blank-separated words', () => {
    assert.deepEqual(node('FROM  golang:1.22   AS  build').args, ['golang:1.22', 'AS', 'build']);
    assert.deepEqual(node('EXPOSE 80/tcp\t443').args, ['80/tcp', '443']);
  });

  test('RUN, CMD, ENTRYPOINT, SHELL: exec form from a JSON array, else one shell string', () => {
    assert.deepEqual([node('RUN ["sh", "-c", "x"]').args, node('RUN ["sh", "-c", "x"]').json], [['sh', '-c', 'x'], true]);
    assert.deepEqual([node('CMD echo "a  b"').args, node('CMD echo "a  b"').json], [['echo "a  b"'], false]);
    assert.deepEqual(node('SHELL ["powershell", "-command"]').args, ['powershell', '-command']);
    assert.deepEqual(node('ENTRYPOINT []').args, []);
    assert.equal(node('ENTRYPOINT []').json, true);
  });

  test('invalid JSON falls back to the shell form, verbatim', () => {
    for (const text of ["['a']", '["a" "b"]', '["a"] trailing', '["a",]', '[ "unterminated ]']) {
      const n = node(`CMD ${text}`);
      assert.deepEqual([n.args, n.json], [[text], false], text);
    }
  });

  test('JSON escapes are decoded', () => {
    assert.deepEqual(node('CMD ["\\u00e9\\t", "a\\"b", "\\ud800"]').args, ['é\t', 'a"b', '\ufffd']);
  });

  test('COPY, ADD, VOLUME: JSON array or words', () => {
    assert.deepEqual(node('COPY ["a b", "/c d/"]').args, ['a b', '/c d/']);
    assert.deepEqual(node('ADD a  b\t/c/').args, ['a', 'b', '/c/']);
    assert.deepEqual(node('VOLUME /a /b').args, ['/a', '/b']);
    assert.deepEqual(node('VOLUME ["/a"]').args, ['/a']);
  });

  test('USER, WORKDIR, STOPSIGNAL, MAINTAINER: the rest as one string', () => {
    assert.deepEqual(node('WORKDIR /a b').args, ['/a b']);
    assert.deepEqual(node('USER  app:app').args, ['app:app']);
    assert.deepEqual(node('STOPSIGNAL SIGKILL').args, ['SIGKILL']);
    assert.deepEqual(node('MAINTAINER Jo <jo@x>').args, ['Jo <jo@x>']);
  });

  test('ENV/LABEL old form: name, the verbatim rest, empty separator', () => {
    assert.deepEqual(node('ENV PATH  /a:$PATH   b').args, ['PATH', '/a:$PATH   b', '']);
    assert.deepEqual(node('LABEL maintainer Jo "x"').args, ['maintainer', 'Jo "x"', '']);
  });

  test('ENV/LABEL key=value form: triples, quotes and escapes kept', () => {
    assert.deepEqual(node('ENV a=1 b="x y" c=d\\ e f=').args, ['a', '1', '=', 'b', '"x y"', '=', 'c', 'd\\ e', '=', 'f', '', '=']);
    assert.deepEqual(node("LABEL 'q k'=v").args, ["'q k'", 'v', '=']);
    assert.equal(dumpLine('ENV a="b c"'), 'env "a" "\\"b c\\"" "="');
  });

  test('ENV/LABEL with nothing after them have no arguments', () => {
    assert.equal(dumpLine('LABEL'), 'label');
  });

  test('ARG: several words, quotes kept', () => {
    assert.deepEqual(node('ARG a b=c d="e f" g=').args, ['a', 'b=c', 'd="e f"', 'g=']);
  });

  test('the escape token inside words follows the directive', () => {
    // With ` as escape, `" is an escaped quote, while \" opens a quoted part that swallows the blank.
    assert.deepEqual(parseDockerfile('# escape=`\nENV a=b`"c d=e\n').instructions[0].args, ['a', 'b`"c', '=', 'd', 'e', '=']);
    assert.deepEqual(parseDockerfile('# escape=`\nENV a=b\\"c d=e\n').instructions[0].args, ['a', 'b\\"c d=e', '=']);
  });

  test('HEALTHCHECK: NONE, CMD with shell or exec form', () => {
    assert.deepEqual(node('HEALTHCHECK NONE').args, ['NONE']);
    const shell = node('HEALTHCHECK --interval=5s CMD curl -f http://x/ || exit 1');
    assert.deepEqual([shell.flags, shell.args, shell.json], [['--interval=5s'], ['CMD', 'curl -f http://x/ || exit 1'], false]);
    const exec = node('HEALTHCHECK CMD ["curl", "-f"]');
    assert.deepEqual([exec.args, exec.json], [['CMD', 'curl', '-f'], true]);
  });

  test('ONBUILD nests the trigger instruction', () => {
    const n = node('ONBUILD RUN ["echo", "hi"]');
    assert.deepEqual(n.args, []);
    assert.equal(n.sub?.name, 'run');
    assert.deepEqual(n.sub?.args, ['echo', 'hi']);
    assert.equal(n.sub?.json, true);
    assert.equal(n.sub?.original, 'RUN ["echo", "hi"]');
    assert.equal(dumpNode(n), 'onbuild (run "echo" "hi")');
    assert.equal(dumpLine('ONBUILD'), 'onbuild');
  });
});

describe('dump format', () => {
  test('strings are quoted as Go\'s %q', () => {
    assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goQuote('\u0000\u0007\b\f\n\r\t\v\u001b\u007f'), '"\\x00\\a\\b\\f\\n\\r\\t\\v\\x1b\\x7f"');
    assert.equal(goQuote('é♥☃ '), '"é♥☃ "');
    assert.equal(goQuote('\u00a0\u200b\u{e0001}'), '"\\u00a0\\u200b\\U000e0001"');
    assert.equal(goQuote('😀'), '"😀"');
  });

  test('flags print as a Go string slice', () => {
    assert.equal(dumpLine('COPY --user=me --x="a b" foo /tmp/'), 'copy ["--user=me" "--x=a b"] "foo" "/tmp/"');
  });

  test('a whole file is one line per instruction', () => {
    assert.equal(dumpDockerfile(parseDockerfile('FROM a\nENV x=1\nCMD []\n')), '(from "a")\n(env "x" "1" "=")\n(cmd)\n');
  });
});
