import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../src/log/logger.ts';
import { createTransferProgress } from '../../../src/log/transfer-progress.ts';

const D = `sha256:${'ab'.repeat(32)}`;

function capture(statusLine: boolean) {
  const out: string[] = [];
  const logger = createLogger({ format: 'text', statusLine, write: (s) => out.push(s) });
  let clock = 0;
  const progress = createTransferProgress(logger, { intervalMs: 5, now: () => clock });
  return { out, progress, advanceClock: (ms: number) => { clock += ms; } };
}

test('without a terminal: periodic plain lines for a large blob in flight, one line with size and time when done', async () => {
  const { out, progress, advanceClock } = capture(false);
  const t = progress.start('pull', D, 4 << 20, 'reg/app');
  t.advance(1 << 20);
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(out.some((l) => /msg="pulling blob abababababab \(reg\/app\): 1\.0 MiB of 4\.0 MiB \(25%\)"/.test(l)), out.join(''));
  t.advance(3 << 20);
  advanceClock(2000);
  t.done();
  assert.match(out.at(-1)!, /msg="pulled blob abababababab \(reg\/app\): 4\.0 MiB in 2\.00s, 2\.0 MiB\/s"/);
  const lines = out.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(out.length, lines, 'no more lines once nothing is in flight');
  assert.ok(out.every((l) => !l.includes('\r')), 'no terminal control characters in plain logs');
});

test('on a terminal: a bar kept below the log lines, gone when the transfers end', () => {
  const { out, progress, advanceClock } = capture(true);
  const a = progress.start('push', D, 1000, 'reg/app');
  advanceClock(200);
  a.advance(500);
  assert.match(out.join(''), /\r\x1b\[Kpushing 1 blob \[#{15}\.{15}\] 500 B \/ 1000 B$/);
  advanceClock(200);
  a.advance(500);
  a.done();
  const text = out.join('');
  assert.match(text, /\r\x1b\[Klevel=info msg="pushed blob abababababab \(reg\/app\): 1000 B in 0\.40s, 2\.4 KiB\/s"\n$/);
  assert.doesNotMatch(text.slice(text.lastIndexOf('pushed blob')), /pushing/, 'no stale bar after the last line');
});
