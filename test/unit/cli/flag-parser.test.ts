import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags, parseGoBool, parseGoDuration, parseGoInt } from '../../../src/cli/flag-parser.ts';
import { isKilnError } from '../../../src/errors.ts';

const value = (argv: string[], name: string, env: NodeJS.ProcessEnv = {}) => parseFlags(argv, env).flags.get(name)?.value;

function throwsNaming(fn: () => unknown, text: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isKilnError(err), `expected a KilnError, got ${String(err)}`);
    assert.match(err.message, typeof text === 'string' ? new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : text);
    assert.equal(err.exitCode, 2);
    return true;
  });
}

test('Go-style booleans: bare, =true/=false, Go spellings; --no-push is its own flag', () => {
  assert.equal(value([], 'no-push'), false);
  assert.equal(value(['--no-push'], 'no-push'), true);
  assert.equal(value(['--no-push=true'], 'no-push'), true);
  assert.equal(value(['--no-push=false'], 'no-push'), false);
  assert.equal(value(['--cache=F'], 'cache'), false);
  assert.equal(value(['--cache=1'], 'cache'), true);
  assert.equal(value(['--cache-run-layers=false'], 'cache-run-layers'), false);
  assert.equal(value([], 'cache-run-layers'), true);
  throwsNaming(() => parseFlags(['--cache=yes'], {}), 'invalid value "yes" for --cache');
  // A bool never swallows the next argument.
  assert.deepEqual(parseFlags(['--no-push', 'false'], {}).operands, ['false']);
});

test('--flag value, --flag=value, shorthands -c DIR, -cDIR, -c=DIR', () => {
  assert.equal(value(['--context', '/a'], 'context'), '/a');
  assert.equal(value(['--context=/a=b'], 'context'), '/a=b');
  assert.equal(value(['-c', '/a'], 'context'), '/a');
  assert.equal(value(['-c/a'], 'context'), '/a');
  assert.equal(value(['-c=/a'], 'context'), '/a');
  assert.equal(value(['-v', 'debug'], 'verbosity'), 'debug');
  assert.equal(value(['-f', '-'], 'dockerfile'), '-');
  assert.equal(value(['--context='], 'context'), '');
  assert.equal(value([], 'context'), '/workspace/');
});

test('repeatable flags keep every value in order, without splitting on commas', () => {
  assert.deepEqual(value(['-d', 'a/b:1', '--destination=c/d:2', '-d', 'e'], 'destination'), ['a/b:1', 'c/d:2', 'e']);
  assert.deepEqual(value(['--build-arg', 'A=1,2', '--build-arg', 'B'], 'build-arg'), ['A=1,2', 'B']);
  for (const name of ['label', 'registry-mirror', 'registry-certificate', 'insecure-registry', 'ignore-path', 'registry-map', 'skip-tls-verify-registry', 'secret']) {
    assert.deepEqual(value([`--${name}`, 'x=1', `--${name}=y=2`], name), ['x=1', 'y=2'], name);
  }
  assert.deepEqual(value([], 'destination'), []);
});

test('deprecated spellings set the new flag and report a deprecation', () => {
  const parsed = parseFlags(['--tarPath', '/t.tar', '--snapshotMode=redo', '--customPlatform=linux/arm64', '--whitelist-var-run=false'], {});
  assert.equal(parsed.flags.get('tar-path')?.value, '/t.tar');
  assert.equal(parsed.flags.get('snapshot-mode')?.value, 'redo');
  assert.equal(parsed.flags.get('custom-platform')?.value, 'linux/arm64');
  assert.equal(parsed.flags.get('ignore-var-run')?.value, false);
  assert.equal(parsed.flags.get('tar-path')?.spelling, '--tarPath');
  assert.deepEqual(parsed.deprecations.sort(), [
    'Flag --customPlatform is deprecated. Use: --custom-platform',
    'Flag --snapshotMode is deprecated. Use: --snapshot-mode',
    'Flag --tarPath is deprecated. Use: --tar-path',
    'Flag --whitelist-var-run is deprecated. Use: --ignore-var-run',
  ]);
});

test('environment variables: scalar flags take them as defaults, repeatables append them', () => {
  assert.equal(value([], 'no-push', { KANIKO_NO_PUSH: 'true' }), true);
  assert.equal(value(['--no-push=false'], 'no-push', { KANIKO_NO_PUSH: 'true' }), false);
  assert.equal(parseFlags([], { KANIKO_NO_PUSH: 'true' }).flags.get('no-push')?.source, 'env');
  throwsNaming(() => parseFlags([], { KANIKO_NO_PUSH: 'maybe' }), 'for KANIKO_NO_PUSH');
  assert.equal(value([], 'kaniko-dir', { KANIKO_DIR: '/k' }), '/k');
  assert.equal(value(['--kaniko-dir=/x'], 'kaniko-dir', { KANIKO_DIR: '/k' }), '/x');
  assert.deepEqual(value(['--registry-mirror', 'm1'], 'registry-mirror', { KANIKO_REGISTRY_MIRROR: 'm2' }), ['m1', 'm2']);
  assert.deepEqual(value([], 'registry-map', { KANIKO_REGISTRY_MAP: 'a=b;c=d' }), ['a=b;c=d']);
});

test('errors name the flag: unknown flags, missing values, bad numbers and durations', () => {
  throwsNaming(() => parseFlags(['--nope'], {}), 'unknown flag: --nope');
  throwsNaming(() => parseFlags(['-x'], {}), 'unknown flag: -x');
  throwsNaming(() => parseFlags(['--context'], {}), 'flag needs an argument: --context');
  throwsNaming(() => parseFlags(['-d'], {}), 'flag needs an argument: -d');
  throwsNaming(() => parseFlags(['--destination', '--no-push'], {}), 'flag needs an argument: --destination');
  throwsNaming(() => parseFlags(['--push-retry=two'], {}), 'invalid value "two" for --push-retry');
  throwsNaming(() => parseFlags(['--cache-ttl', 'fortnight'], {}), 'invalid value "fortnight" for --cache-ttl');
  assert.throws(() => parseFlags(['--nopush'], {}), /unknown flag/);
  try {
    parseFlags(['--nopush'], {});
  } catch (err) {
    assert.match((err as { hint: string }).hint, /--no-push/);
  }
});

test('help and the end of flags', () => {
  assert.equal(parseFlags(['-h'], {}).help, true);
  assert.equal(parseFlags(['--context', 'x', '--help'], {}).help, true);
  assert.deepEqual(parseFlags(['--', '--no-push'], {}).operands, ['--no-push']);
});

test('Go value syntax: ParseBool, ParseInt, ParseDuration', () => {
  assert.equal(parseGoBool('True'), true);
  assert.equal(parseGoBool('yes'), undefined);
  assert.equal(parseGoInt('-1'), -1);
  assert.equal(parseGoInt('0x10'), 16);
  assert.equal(parseGoInt('1_000'), 1000);
  assert.equal(parseGoInt('1.5'), undefined);
  assert.equal(parseGoDuration('336h0m0s'), 336 * 3_600_000);
  assert.equal(parseGoDuration('1h30m'), 90 * 60_000);
  assert.equal(parseGoDuration('1.5s'), 1500);
  assert.equal(parseGoDuration('250ms'), 250);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('6'), undefined);
  assert.equal(parseGoDuration('6d'), undefined);
});
