import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAGS } from '../../src/cli/kaniko-flags.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KILN = path.join(ROOT, 'bin', 'kiln');

function kiln(args: string[], env: NodeJS.ProcessEnv = {}, input?: string) {
  const r = spawnSync(KILN, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, input, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function context(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  return dir;
}

test('kiln build --help lists every flag', () => {
  const r = kiln(['build', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: kiln build \[flags\]/);
  for (const f of FLAGS.filter((x) => !x.hidden)) assert.ok(r.stdout.includes(`--${f.name}`), `--${f.name} in kiln build --help`);
  assert.ok(r.stdout.includes('-d, --destination'));
  assert.ok(r.stdout.includes('deprecated alias --tarPath'));
});

test('kiln executor is the same command under kaniko\'s name', (t) => {
  const r = kiln(['executor', '-h']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: kiln executor \[flags\]/);
  assert.ok(r.stdout.includes('--context'));
  const bad = kiln(['executor', '--context', context(t), '--no-push', '--verbosity=loud']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid value "loud" for --verbosity/);
});

test('a flag that is not supported yet fails with a clear message', (t) => {
  const later = FLAGS.find((f) => f.status === 'later' && f.type === 'string');
  if (later === undefined) return;
  const r = kiln(['build', '--context', context(t), '--no-push', `--${later.name}`, 'x=y']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`error: --${later.name} is not supported yet`));
});

test('usage errors exit 2 and name the flag', (t) => {
  const ctx = context(t);
  const cases: Array<[string[], RegExp]> = [
    [['build', '--bogus'], /unknown flag: --bogus/],
    [['build', '-c', path.join(ctx, 'missing'), '--no-push'], /-c \(--context\): .*missing is not a directory/],
    [['build', '-c', ctx], /you must provide --destination, or use --no-push/],
    [['build', '-c', ctx, '--no-push', '--compression=lz4'], /invalid value "lz4" for --compression/],
    [['build', '-c', ctx, '--no-push', '--build-arg', '=x'], /"=x" for --build-arg/],
    [['build', '-c', ctx, '--no-push', 'false'], /unexpected argument "false"/],
    [['build', '-c', 'git://github.com/a/b.git#x#not-a-sha', '--no-push'], /invalid git location "git:\/\/github.com\/a\/b.git#x#not-a-sha": "not-a-sha" is not a commit SHA/],
  ];
  for (const [args, re] of cases) {
    const r = kiln(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test('kaniko spellings reach the builder: deprecated aliases warn, JSON logs are JSON', (t) => {
  const ctx = context(t);
  const tarball = path.join(ctx, 'out.tar');
  const r = kiln(['build', '-c', ctx, '--no-push', '--tarPath', tarball, '--snapshot-mode=redo']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.statSync(tarball).size > 0);
  assert.match(r.stderr, /Flag --tarPath is deprecated\. Use: --tar-path/);
  assert.doesNotMatch(r.stderr, /--snapshot-mode has no effect in Kiln/);
  const json = kiln(['executor', `--context=dir://${ctx}`, '--no-push=true', '--oci-layout-path', path.join(ctx, 'oci'), '--log-format=json']);
  assert.equal(json.code, 0, json.stderr);
  const lines = json.stderr.trim().split('\n');
  assert.ok(lines.length > 1);
  for (const line of lines) assert.equal(typeof JSON.parse(line).msg, 'string', line);
});
