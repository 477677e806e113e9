/** Variable expansion: the `${}` forms, matched/unmatched names, positional and special parameters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShellExpansionError, envFromList, processWord, processWordWithMatches } from '../../../src/dockerfile/shell/index.ts';

interface Case {
  input: string;
  env: Record<string, string>;
  expected?: string;
  error?: true;
  matched?: string[];
  unmatched?: string[];
}

const env = (o: Record<string, string>) => new Map(Object.entries(o));
const FOO_BAR = { FOO: 'xxx', BAR: '' };

// Mirrors BuildKit's TestProcessWithMatches table (lex_test.go).
const cases: Case[] = [
  { input: 'x', env: { DUMMY: 'dummy' }, expected: 'x' },
  { input: 'x ${UNUSED}', env: { DUMMY: 'dummy' }, expected: 'x ', unmatched: ['UNUSED'] },
  { input: 'x ${FOO}', env: { FOO: 'y' }, expected: 'x y', matched: ['FOO'] },
  { input: '${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', env: FOO_BAR, expected: 'xxx  ccc', matched: ['FOO', 'BAR'], unmatched: ['BAZ'] },
  { input: '${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', env: FOO_BAR, expected: 'xxx bbb ccc', matched: ['FOO', 'BAR'], unmatched: ['BAZ'] },
  { input: '${FOO:-}', env: FOO_BAR, expected: 'xxx', matched: ['FOO'] },
  { input: '${FOO:-}', env: {}, expected: '', unmatched: ['FOO'] },
  { input: '${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', env: FOO_BAR, expected: 'aaa bbb ', matched: ['FOO', 'BAR'], unmatched: ['BAZ'] },
  { input: '${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', env: FOO_BAR, expected: 'aaa  ', matched: ['FOO', 'BAR'], unmatched: ['BAZ'] },
  { input: '${FOO?aaa}', env: FOO_BAR, expected: 'xxx', matched: ['FOO'] },
  { input: '${BAR?bbb}', env: FOO_BAR, expected: '', matched: ['BAR'] },
  { input: '${BAZ?ccc}', env: FOO_BAR, error: true },
  { input: '${FOO:?aaa}', env: FOO_BAR, expected: 'xxx', matched: ['FOO'] },
  { input: '${BAR:?bbb}', env: FOO_BAR, error: true },
  { input: '${BAZ:?ccc}', env: FOO_BAR, error: true },
  { input: '${BAZ:?}', env: FOO_BAR, error: true },
  { input: '${FOO=aaa}', env: FOO_BAR, error: true },
  { input: '${FOO=:aaa}', env: FOO_BAR, error: true },
  { input: '${FOO=}', env: {}, error: true },
  { input: '${FOO#()[]{\\}^$.\\*\\?|\\\\}', env: { FOO: '()[]{}^$.*?|\\x' }, expected: 'x', matched: ['FOO'] },
  { input: '${FOO%%\\**}', env: { FOO: 'xx**' }, expected: 'xx', matched: ['FOO'] },
  { input: '${FOO#*x*y}', env: { FOO: 'xxyy' }, expected: 'y', matched: ['FOO'] },
  { input: '${FOO#*}', env: { FOO: 'xxyy' }, expected: 'xxyy', matched: ['FOO'] },
  { input: '${FOO#$BAR}', env: { FOO: 'xxyy', BAR: 'x' }, expected: 'xyy', matched: ['FOO', 'BAR'] },
  { input: '${FOO#$BAR}', env: { FOO: 'xxyy', BAR: '' }, expected: 'xxyy', matched: ['FOO', 'BAR'] },
  { input: '${FOO#}', env: { FOO: 'xxyy' }, expected: 'xxyy', matched: ['FOO'] },
  { input: '${FOO##*x}', env: { FOO: 'xxyy' }, expected: 'yy', matched: ['FOO'] },
  { input: '${FOO##}', env: { FOO: 'xxyy' }, expected: 'xxyy', matched: ['FOO'] },
  { input: '${FOO#?\\?}', env: { FOO: '???y' }, expected: '?y', matched: ['FOO'] },
  { input: '${ABC:-.}${FOO%x}${ABC:-.}', env: { FOO: 'xxyy' }, expected: '.xxyy.', matched: ['FOO'], unmatched: ['ABC'] },
  { input: '${FOO%%\\**\\*}', env: { FOO: 'a***yy*' }, expected: 'a', matched: ['FOO'] },
  { input: '${FOO%}', env: { FOO: 'xxyy' }, expected: 'xxyy', matched: ['FOO'] },
  { input: '${FOO%%$BAR}', env: { FOO: 'xxyy', BAR: '' }, expected: 'xxyy', matched: ['FOO', 'BAR'] },
  { input: '${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', env: { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' }, expected: '/foo.*/*.txt - /foo..*.txt', matched: ['FOO', 'NEEDLE'] },
  { input: '${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', env: { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' }, expected: '/tmp/bar.txt - /bar.txt', matched: ['FOO', 'NEEDLE'] },
  { input: '${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}', env: { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' }, expected: '/foo/b/c.txt - /foo/c.txt', matched: ['FOO', 'NEEDLE', 'REPLACEMENT'] },
  { input: '${FOO/$NEEDLE/$REPLACEMENT}', env: { FOO: 'http://google.de', NEEDLE: 'http://', REPLACEMENT: 'https://' }, expected: 'https://google.de', matched: ['FOO', 'NEEDLE', 'REPLACEMENT'] },
  { input: '${FOO//\\//\\/}', env: { FOO: '/tmp/foo.txt' }, expected: '\\/tmp\\/foo.txt', matched: ['FOO'] },
  { input: '${FOO/$BAR/ww}', env: { FOO: 'xxyy', BAR: '' }, expected: 'wwxxyy', matched: ['FOO', 'BAR'] },
  { input: '${FOO//ww}', env: { FOO: 'xxyy' }, error: true },
  { input: '${FOO//}', env: { FOO: 'xxyy' }, error: true },
  { input: '${FOO///}', env: { FOO: 'xxyy' }, expected: 'xxyy', matched: ['FOO'] },
  { input: '${FOO///}', env: {}, expected: '', unmatched: ['FOO'] },
];

for (const c of cases) {
  test(`expands ${c.input} with ${JSON.stringify(c.env)}`, () => {
    if (c.error) {
      assert.throws(() => processWordWithMatches(c.input, env(c.env)), ShellExpansionError);
      return;
    }
    const r = processWordWithMatches(c.input, env(c.env));
    assert.equal(r.result, c.expected);
    assert.deepEqual([...r.matched].sort(), (c.matched ?? []).sort());
    assert.deepEqual([...r.unmatched].sort(), (c.unmatched ?? []).sort());
  });
}

test('a release file name built from TARGET* variables, with and without a variant', () => {
  const word = 'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz';
  const base = { VERSION: 'v1.2.3', TARGETOS: 'linux' };
  assert.equal(processWord(word, env({ ...base, TARGETARCH: 'arm', TARGETVARIANT: 'v7' })), 'something-v1.2.3.linux-arm-v7.tar.gz');
  assert.equal(processWord(word, env({ ...base, TARGETARCH: 'arm64', TARGETVARIANT: '' })), 'something-v1.2.3.linux-arm64.tar.gz');
  assert.equal(processWord(word, env({ ...base, TARGETARCH: 'arm64' })), 'something-v1.2.3.linux-arm64.tar.gz');
});

test('${V:?msg} and ${V?msg} expand the message and fail with it', () => {
  const word = (w: string, e: string[]) => () => processWord(w, envFromList(e));
  assert.equal(word('${VAR:?message here$ARG}', ['VAR=plain', 'ARG=x'])(), 'plain');
  assert.throws(word('${VAR:?message here$ARG}', ['VAR=', 'ARG=x']), /VAR: message herex$/);
  assert.throws(word('${VAR:?message here$ARG}', ['ARG=x']), /VAR: message herex$/);
  assert.equal(word('${VAR?message here$ARG}', ['VAR=plain', 'ARG=x'])(), 'plain');
  assert.equal(word('${VAR?message here$ARG}', ['VAR=', 'ARG=x'])(), '');
  assert.throws(word('${VAR?message here$ARG}', ['ARG=x']), /VAR: message herex$/);
});

test('variable names are case-sensitive and stop at the first non-name character', () => {
  const e = env({ Foo: 'a', FOO: 'b', FOO_1: 'c', 'X': 'x' });
  assert.equal(processWord('$Foo-$FOO-$FOO_1-$FOO.1-$foo.', e), 'a-b-c-b.1-.');
  assert.equal(processWord('$X$X${X}x', e), 'xxxx');
});

test('names may be any Unicode letters and digits', () => {
  assert.equal(processWord('$변수/${이름_2}', env({ 변수: 'v', 이름_2: 'n' })), 'v/n');
});

test('positional and special parameters are never set', () => {
  const e = env({ A: 'a' });
  assert.equal(processWord('$1$23x$@y$$z$0${#}${?:-q}', e), 'xyzq');
  assert.deepEqual([...processWordWithMatches('$12a', e).unmatched], ['12']);
});

test('a lone or trailing $ stays literal', () => {
  assert.equal(processWord('cost: $ 5$', new Map()), 'cost: $ 5$');
  assert.equal(processWord('$.x$/', new Map()), '$.x$/');
});

test('nested expansions inside default and alternative words', () => {
  const e = env({ A: 'a', EMPTY: '' });
  assert.equal(processWord('${X:-${Y:-${A}b}}', e), 'ab');
  assert.equal(processWord('${A:+[${A}${A}]}', e), '[aa]');
  assert.equal(processWord('${EMPTY-"quoted }"}', e), '');
  assert.equal(processWord('${X-"quoted }"}', e), 'quoted }');
  assert.equal(processWord("${X:-'it''s'}", e), 'its');
});

test('a value is not re-expanded', () => {
  assert.equal(processWord('$A', env({ A: '$B', B: 'no' })), '$B');
});

test('envFromList: later entries win, bare names are set and empty', () => {
  const e = envFromList(['A=1', 'B', 'A=2', 'C=x=y']);
  assert.deepEqual([...e.entries()], [['A', '2'], ['B', ''], ['C', 'x=y']]);
  assert.equal(processWord('${B?}|${B:-d}', e), '|d');
});

test('deeply nested ${} is a clear expansion error, not a stack overflow', () => {
  const nested = (n: number): string => '${a:-'.repeat(n) + 'x' + '}'.repeat(n);
  assert.equal(processWord(nested(200), new Map()), 'x');
  assert.throws(() => processWord(nested(2000), new Map()), (err: unknown) => {
    assert.ok(err instanceof ShellExpansionError, String(err));
    assert.match(err.reason, /nested more than 200 levels/);
    assert.ok(err.message.length < 400, 'the message quotes only the start of a huge word');
    return true;
  });
});
