import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../src/log/logger.ts';
import type { LoggerOptions } from '../../../src/log/logger.ts';
import { parseLogLevel, parseLogFormat } from '../../../src/log/levels.ts';
import { Redactor, redactUrl, redactUrlsInText } from '../../../src/log/redact.ts';
import { startStep, stepLabel } from '../../../src/log/steps.ts';
import { formatDuration, Timings } from '../../../src/log/timings.ts';

function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  let t = Date.parse('2024-05-01T10:00:00.000Z');
  const logger = createLogger({
    write: (l) => lines.push(l),
    now: () => new Date(t),
    ...options,
  });
  return { logger, lines, advance: (ms: number) => (t += ms) };
}

test('color format: logrus-style level tag, seconds since start, coloured fields', () => {
  const { logger, lines, advance } = capture({ format: 'color' });
  logger.info('Retrieving image manifest alpine');
  advance(12_400);
  logger.warn('careful', { stage: 1 });
  assert.equal(lines[0], '\x1b[36mINFO\x1b[0m[0000] Retrieving image manifest alpine\n');
  assert.equal(lines[1], '\x1b[33mWARN\x1b[0m[0012] careful \x1b[33mstage\x1b[0m=1\n');
});

test('text format is logfmt; --log-timestamp adds the time', () => {
  const { logger, lines } = capture({ format: 'text' });
  logger.info('Unpacking rootfs as cmd COPY . /app requires it.', { stage: 2, path: '' });
  assert.equal(lines[0], 'level=info msg="Unpacking rootfs as cmd COPY . /app requires it." path="" stage=2\n');
  const ts = capture({ format: 'text', timestamp: true });
  ts.logger.error('boom');
  assert.equal(ts.lines[0], 'time="2024-05-01T10:00:00.000Z" level=error msg=boom\n');
  const color = capture({ format: 'color', timestamp: true });
  color.logger.info('x');
  assert.equal(color.lines[0], '\x1b[36mINFO\x1b[0m[2024-05-01T10:00:00.000Z] x\n');
});

test('json format: one object per line with level, msg, time and fields', () => {
  const { logger, lines } = capture({ format: 'json' });
  logger.child({ stage: 1 }).debug('hidden');
  logger.child({ stage: 1 }).info('Taking snapshot', { step: 3 });
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]), { level: 'info', msg: 'Taking snapshot', time: '2024-05-01T10:00:00.000Z', stage: 1, step: 3 });
});

test('levels filter by verbosity: trace shows everything, error hides warnings', () => {
  const all = capture({ level: 'trace', format: 'text' });
  for (const l of ['panic', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const) all.logger.log(l, l);
  assert.equal(all.lines.length, 7);
  const errOnly = capture({ level: 'error', format: 'text' });
  errOnly.logger.warn('w');
  errOnly.logger.info('i');
  errOnly.logger.error('e');
  errOnly.logger.fatal('f');
  assert.deepEqual(errOnly.lines, ['level=error msg=e\n', 'level=fatal msg=f\n']);
  assert.equal(errOnly.logger.enabled('debug'), false);
  assert.equal(parseLogLevel('WARNING'), 'warn');
  assert.throws(() => parseLogLevel('loud'), /--verbosity/);
  assert.throws(() => parseLogFormat('xml'), /--log-format/);
});

test('children add fields and share sink and redactor', () => {
  const { logger, lines } = capture({ format: 'text' });
  const child = logger.child({ stage: 1 }).child({ step: 2 });
  logger.redactor.add('s3cr3t-token');
  child.info('using s3cr3t-token now');
  assert.equal(lines[0], 'level=info msg="using *** now" stage=1 step=2\n');
});

test('credentials never reach the log: URLs with user info or signed query parameters', () => {
  assert.equal(redactUrl('https://user:pa55@registry.example/v2/'), 'https://***@registry.example/v2/');
  assert.equal(redactUrl('https://token@github.com/a/b.git'), 'https://***@github.com/a/b.git');
  assert.equal(redactUrl('https://b.s3.amazonaws.com/ctx.tar?X-Amz-Signature=abc&X-Amz-Date=1'), 'https://b.s3.amazonaws.com/ctx.tar?X-Amz-Signature=***&X-Amz-Date=1');
  assert.equal(redactUrl('https://acct.blob.core.windows.net/c/x?sv=1&sig=abc'), 'https://acct.blob.core.windows.net/c/x?sv=1&sig=***');
  assert.equal(redactUrl('not a url'), 'not a url');
  assert.equal(redactUrlsInText('cloning git://u:p@host/repo.git into /tmp'), 'cloning git://***@host/repo.git into /tmp');
  const { logger, lines } = capture({ format: 'json' });
  logger.info('GET https://admin:hunter22@reg.local/v2/', { url: 'https://admin:hunter22@reg.local/v2/x' });
  assert.ok(!lines[0].includes('hunter22'), lines[0]);
  const r = new Redactor();
  r.add('ab');
  assert.equal(r.redact('abc'), 'abc', 'very short values are not masked');
});

test('step lines and their timing', () => {
  const { logger, lines, advance } = capture({ format: 'text' });
  let clock = 0;
  const timings = new Timings(() => clock);
  const step = startStep(logger.child({ stage: 1 }), { stage: 1, stages: 2, step: 3, steps: 7, text: 'COPY . /app' }, timings);
  clock += 1234;
  advance(1234);
  assert.equal(step.done(), 1234);
  step.done();
  assert.equal(lines.length, 2, 'done twice logs once');
  assert.equal(lines[0], 'level=info msg="[stage 1/2] STEP 3/7: COPY . /app" stage=1\n');
  assert.equal(lines[1], 'level=info msg="[stage 1/2] STEP 3/7: done in 1.23s" stage=1\n');
  const failed = startStep(logger, { stage: 2, stages: 2, step: 1, steps: 1, text: 'run false' }, timings);
  clock += 50;
  failed.failed('exit code 1');
  assert.equal(lines[3], 'level=error msg="[stage 2/2] STEP 1/1: failed (exit code 1) in 0.05s"\n');
  assert.deepEqual(timings.toJSON(), { COPY: 1234, RUN: 50 });
  assert.equal(stepLabel({ stage: 1, stages: 1, step: 1, steps: 1 }), '[stage 1/1] STEP 1/1');
});

test('durations read well', () => {
  assert.equal(formatDuration(120), '0.12s');
  assert.equal(formatDuration(12_340), '12.3s');
  assert.equal(formatDuration(65_000), '1m05s');
});
