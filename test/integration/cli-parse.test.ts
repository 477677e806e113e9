/** `kiln parse` end to end: the real CLI entry on real files and standard input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const kiln = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/kiln');

function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(kiln, args, { input, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-parse-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('kiln parse --dump prints BuildKit\'s dump of a Dockerfile', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'Dockerfile');
  writeFileSync(file, [
    '# syntax=docker/dockerfile:1',
    'FROM busybox AS base',
    'COPY --chown=1:1 a b /dst/',
    'ENV A=1 B="two words"',
    'RUN <<EOF',
    'echo hi',
    'EOF',
    'ONBUILD RUN ["echo", "x"]',
    '',
  ].join('\n'));
  const { status, stdout, stderr } = run(['parse', '--dump', file]);
  assert.equal(status, 0, stderr);
  assert.equal(stdout, [
    '(from "busybox" "AS" "base")',
    '(copy ["--chown=1:1"] "a" "b" "/dst/")',
    '(env "A" "1" "=" "B" "\\"two words\\"" "=")',
    '(run "<<EOF")',
    '(onbuild (run "echo" "x"))',
    '',
  ].join('\n'));
});

test('kiln parse prints the parsed file as JSON, reading - from standard input', () => {
  const { status, stdout, stderr } = run(['parse', '-'], 'FROM a\nRUN <<-EOF\n\techo $X\n\tEOF\n');
  assert.equal(status, 0, stderr);
  const parsed = JSON.parse(stdout);
  assert.equal(parsed.escapeToken, '\\');
  assert.equal(parsed.instructions.length, 2);
  assert.deepEqual(parsed.instructions[1].heredocs, [
    { name: 'EOF', content: 'echo $X\n', expand: true, chomp: true, fileDescriptor: 0 },
  ]);
  assert.deepEqual([parsed.instructions[1].startLine, parsed.instructions[1].endLine], [2, 4]);
});

test('a bad Dockerfile exits non-zero with its file and line', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'Dockerfile');
  writeFileSync(file, 'FROM a\n\nENV PATH\n');
  const bad = run(['parse', '--dump', file]);
  assert.notEqual(bad.status, 0);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /Dockerfile:3: ENV must have two arguments/);

  writeFileSync(file, 'FROM a\nRUN <<EOF\necho\n');
  const unterminated = run(['parse', file]);
  assert.notEqual(unterminated.status, 0);
  assert.match(unterminated.stderr, /Dockerfile:2: unterminated heredoc/);
});

test('a missing file is a clear error', () => {
  const { status, stderr } = run(['parse', '/nonexistent/Dockerfile']);
  assert.notEqual(status, 0);
  assert.match(stderr, /cannot read Dockerfile \/nonexistent\/Dockerfile: ENOENT/);
});
