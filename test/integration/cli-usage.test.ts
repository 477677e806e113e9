/**
 * The command line as a new user meets it: typos get "did you mean" and exit 2, `executor version` is kaniko's
 * subcommand, and a Node too old to run Kiln is named instead of crashing with a SyntaxError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const kiln = resolve(root, 'bin', 'kiln');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(kiln, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an unknown command exits 2 with a suggestion', () => {
  const r = run(['biuld']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /unknown command 'biuld'/);
  assert.match(r.stderr, /Did you mean build\?/);
});

test('an unknown flag exits 2 suggesting the closest flag', () => {
  const r = run(['build', '--contxt', '.']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /unknown flag: --contxt/);
  assert.match(r.stderr, /did you mean --context\?/);
  assert.match(run(['build', '--destinaton=x']).stderr, /did you mean --destination\?/);
  assert.equal(run(['help']).status, 0);
});

test('executor version prints the version, as kaniko does', () => {
  for (const command of ['executor', 'build']) {
    const r = run([command, 'version']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Kiln version :  \d+\.\d+\.\d+\n$/);
  }
});

test('under a Node older than 22.18, the entry names the requirement instead of a SyntaxError', () => {
  const old = ['/usr/bin/node', '/usr/local/bin/node'].map((node) => ({ node, r: spawnSync(node, ['--version'], { encoding: 'utf8' }) }))
    .find(({ r }) => r.status === 0 && /^v(1\d|20|21|22\.(1[0-7]|\d))\./.test(r.stdout));
  const entry = resolve(root, 'src', 'cli', 'entry.mjs');
  // A real old Node (Debian's 20 on these machines) proves the entry parses there; else this Node, told it is 20.
  const pretend = 'data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"20.1.0"}})';
  const r = old
    ? spawnSync(old.node, [entry, '--version'], { encoding: 'utf8' })
    : spawnSync(process.execPath, ['--import', pretend, entry, '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^error: Kiln needs Node\.js >= 22\.18; .* is v\d+/);
  assert.match(r.stderr, /npm ci/);
  assert.doesNotMatch(r.stderr, /SyntaxError/);
});

test('--log-format=json: every line is JSON, the final error included', (t) => {
  const ctx = mkdtempSync(join(tmpdir(), 'kiln-json-'));
  t.after(() => rmSync(ctx, { recursive: true, force: true }));
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY missing.txt /\n');
  for (const args of [['--log-format=json'], ['--log-format', 'json', '--no-such-flag']]) {
    const r = run(['build', '--context', ctx, '--no-push', '--tar-path', join(ctx, 'out.tar'), ...args]);
    assert.notEqual(r.status, 0);
    const lines = r.stderr.trimEnd().split('\n');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const last = entries.at(-1)!;
    assert.equal(last.level, 'error', r.stderr);
    assert.equal(typeof last.code, 'string');
    assert.equal(last.exitCode, r.status);
  }
  const copy = run(['build', '--context', ctx, '--no-push', '--tar-path', join(ctx, 'out.tar'), '--log-format=json']);
  const last = JSON.parse(copy.stderr.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;
  assert.equal(last.file, 'Dockerfile');
  assert.equal(last.line, 2);
});

test('a --build-arg that no built stage declares gets BuildKit\'s warning', (t) => {
  const ctx = mkdtempSync(join(tmpdir(), 'kiln-args-'));
  t.after(() => rmSync(ctx, { recursive: true, force: true }));
  writeFileSync(join(ctx, 'Dockerfile'), 'ARG META=1\nFROM scratch AS unused\nARG ONLY_UNUSED\nFROM scratch\nARG USED\nLABEL used=$USED\n');
  const r = run(['build', '--context', ctx, '--no-push', '--tar-path', join(ctx, 'out.tar'), '--skip-unused-stages',
    '--build-arg', 'USED=1', '--build-arg', 'META=2', '--build-arg', 'TYPO=3', '--build-arg', 'HTTP_PROXY=http://proxy', '--build-arg', 'ONLY_UNUSED=4']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /One or more build-args \[ONLY_UNUSED TYPO\] were not consumed/);
  const ok = run(['build', '--context', ctx, '--no-push', '--tar-path', join(ctx, 'out.tar'), '--build-arg', 'USED=1']);
  assert.doesNotMatch(ok.stderr, /not consumed/);
});
